"""OpenAI Images: ``POST {base}/images/generations`` with a GPT image model; images come back as base64."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx2

from engine.generation.models import Orientation
from engine.generation.providers.base import (
    Answer, Call, ImageData, ProviderFailed, ProviderRefused, answer_json, error_message, failed_status, send,
)
from engine.generation.settings import OpenAISettings, ProviderName

SIZES = {Orientation.LANDSCAPE: "1536x1024", Orientation.PORTRAIT: "1024x1536", Orientation.SQUARE: "1024x1024"}
REFUSAL_CODES = {"moderation_blocked", "content_policy_violation"}


class OpenAIImages:
    name = ProviderName.OPENAI

    def __init__(self, settings: OpenAISettings, client: httpx2.AsyncClient):
        self.settings = settings
        self.client = client

    def body(self, call: Call) -> dict[str, Any]:
        return {
            "model": self.settings.model, "prompt": call.prompt, "n": call.count, "size": SIZES[call.orientation],
            "quality": self.settings.quality, "background": "auto",
            "output_format": call.format.value if call.format else "png",
        }

    async def generate(self, call: Call) -> Answer:
        url = f"{self.settings.base_url.rstrip('/')}/images/generations"
        headers = {"Authorization": f"Bearer {call.key}", "Content-Type": "application/json"}
        response = await send(self.client, self.settings, "POST", url, headers=headers, json=self.body(call))
        body = answer_json(response)
        if response.status_code >= 400:
            inner = body.get("error") if isinstance(body, dict) else None
            if isinstance(inner, dict) and inner.get("code") in REFUSAL_CODES:
                raise ProviderRefused(f"refused the prompt: {error_message(body)}")
            raise failed_status(response, body)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not data:
            raise ProviderFailed("answered without images")
        images = [ImageData(data=_decoded(item)) for item in data]
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        return Answer(images=images, cost_usd=self._cost(usage), usage=_tokens(usage))

    def _cost(self, usage: dict[str, Any]) -> float | None:
        tokens = _tokens(usage)
        if not tokens:
            return None
        return (tokens.get("input_tokens", 0) * self.settings.price_input_per_million_usd
                + tokens.get("output_tokens", 0) * self.settings.price_output_per_million_usd) / 1_000_000


def _tokens(usage: dict[str, Any]) -> dict[str, int]:
    return {name: int(usage[name]) for name in ("input_tokens", "output_tokens")
            if isinstance(usage.get(name), int) and usage[name] >= 0}


def _decoded(item: Any) -> bytes:
    encoded = item.get("b64_json") if isinstance(item, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise ProviderFailed("answered an image without b64_json")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderFailed("answered b64_json that is not base64") from None
