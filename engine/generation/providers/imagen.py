"""Google Imagen through the Gemini API: ``POST {base}/models/{model}:predict``; images come back as base64.

Images Imagen's safety filter removes are missing from ``predictions`` (or carry ``raiFilteredReason``);
when none is left the prompt was refused.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx2

from engine.generation.models import Orientation
from engine.generation.providers.base import (
    Answer, Call, ImageData, ProviderFailed, ProviderRefused, answer_json, failed_status, send,
)
from engine.generation.settings import ImagenSettings, ProviderName

ASPECT_RATIOS = {Orientation.LANDSCAPE: "16:9", Orientation.PORTRAIT: "9:16", Orientation.SQUARE: "1:1"}


class ImagenGemini:
    name = ProviderName.IMAGEN

    def __init__(self, settings: ImagenSettings, client: httpx2.AsyncClient):
        self.settings = settings
        self.client = client

    def body(self, call: Call) -> dict[str, Any]:
        return {
            "instances": [{"prompt": call.prompt}],
            "parameters": {"sampleCount": call.count, "aspectRatio": ASPECT_RATIOS[call.orientation],
                           "includeRaiReason": True},
        }

    async def generate(self, call: Call) -> Answer:
        url = f"{self.settings.base_url.rstrip('/')}/models/{self.settings.model}:predict"
        headers = {"x-goog-api-key": call.key, "Content-Type": "application/json"}
        response = await send(self.client, self.settings, "POST", url, headers=headers, json=self.body(call))
        body = answer_json(response)
        if response.status_code >= 400:
            raise failed_status(response, body)
        if not isinstance(body, dict):
            raise ProviderFailed("answered JSON that is not an object")
        predictions = [p for p in body.get("predictions") or [] if isinstance(p, dict)]
        images = [p for p in predictions if p.get("bytesBase64Encoded")]
        if not images:
            reasons = sorted({str(p["raiFilteredReason"]) for p in predictions if p.get("raiFilteredReason")})
            raise ProviderRefused("refused the prompt" + (f": {'; '.join(reasons)[:200]}" if reasons else " (no image passed its safety filter)"))
        return Answer(images=[ImageData(data=_decoded(p["bytesBase64Encoded"])) for p in images])


def _decoded(encoded: Any) -> bytes:
    if not isinstance(encoded, str):
        raise ProviderFailed("answered bytesBase64Encoded that is not a string")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderFailed("answered bytesBase64Encoded that is not base64") from None
