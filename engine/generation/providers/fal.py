"""fal's queue API: submit to ``{base}/{model}``, poll ``.../requests/{id}/status``, read ``.../requests/{id}``.

Status and result live under the app's id without its sub-path (``fal-ai/flux/schnell`` is polled under
``fal-ai/flux``). The URLs are built here from the configured base, never taken from an answer, so the key
only ever goes to the configured host. Images come back as ``images[].url``, fetched at once by the service.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2

from engine.generation.models import ImageFormat, Orientation
from engine.generation.providers.base import (
    Answer, Call, ImageData, ProviderFailed, ProviderRefused, answer_json, error_message, failed_status, send,
)
from engine.generation.settings import FalSettings, ProviderName

IMAGE_SIZES = {Orientation.LANDSCAPE: "landscape_16_9", Orientation.PORTRAIT: "portrait_16_9",
               Orientation.SQUARE: "square_hd"}
OUTPUT_FORMATS = {ImageFormat.PNG: "png", ImageFormat.JPEG: "jpeg"}  # fal's FLUX endpoints offer these two
REFUSAL_TYPES = {"content_policy_violation"}


class FalQueue:
    name = ProviderName.FAL

    def __init__(self, settings: FalSettings, client: httpx2.AsyncClient):
        self.settings = settings
        self.client = client

    @property
    def _base(self) -> str:
        return self.settings.base_url.rstrip("/")

    @property
    def _app(self) -> str:
        return "/".join(self.settings.model.strip("/").split("/")[:2])

    def body(self, call: Call) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": call.prompt, "image_size": IMAGE_SIZES[call.orientation],
                                "num_images": call.count, "seed": call.seed, "enable_safety_checker": True}
        if call.format in OUTPUT_FORMATS:
            body["output_format"] = OUTPUT_FORMATS[call.format]
        return body

    async def generate(self, call: Call) -> Answer:
        deadline = time.monotonic() + self.settings.deadline_s
        headers = {"Authorization": f"Key {call.key}", "Content-Type": "application/json"}
        response = await send(self.client, self.settings, "POST", f"{self._base}/{self.settings.model.strip('/')}",
                              headers=headers, json=self.body(call))
        body = answer_json(response)
        if response.status_code >= 400:
            raise failed_status(response, body)
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not request_id.replace("-", "").isalnum():
            raise ProviderFailed("answered without a request_id")
        requests = f"{self._base}/{self._app}/requests/{request_id}"
        await self._wait(requests, headers, deadline)
        result = await send(self.client, self.settings, "GET", requests, headers=headers)
        return _answer(result, answer_json(result), call.seed)

    async def _wait(self, requests: str, headers: dict[str, str], deadline: float) -> None:
        while True:
            response = await send(self.client, self.settings, "GET", f"{requests}/status", headers=headers)
            body = answer_json(response)
            if response.status_code >= 400:
                raise failed_status(response, body)
            status = body.get("status") if isinstance(body, dict) else None
            if status == "COMPLETED":
                return
            if status not in ("IN_QUEUE", "IN_PROGRESS"):
                raise ProviderFailed(f"answered an unknown status {str(status)[:40]!r}")
            if time.monotonic() + self.settings.poll_interval_s > deadline:
                await self._cancel(requests, headers)
                raise ProviderFailed(f"did not finish within {self.settings.deadline_s:g} s")
            await anyio.sleep(self.settings.poll_interval_s)

    async def _cancel(self, requests: str, headers: dict[str, str]) -> None:
        """Best effort: a request nobody waits for should not run (and be billed) on."""
        try:
            await self.client.put(f"{requests}/cancel", headers=headers, timeout=5.0)
        except httpx2.HTTPError:
            pass


def _refusal(body: Any) -> str | None:
    details = body.get("detail") if isinstance(body, dict) else None
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict) and item.get("type") in REFUSAL_TYPES:
            return str(item.get("msg") or "content policy")[:200]
    return None


def _answer(response: httpx2.Response, body: Any, seed: int) -> Answer:
    if response.status_code >= 400:
        if (refusal := _refusal(body)) is not None:
            raise ProviderRefused(f"refused the prompt: {refusal}")
        raise failed_status(response, body)
    if not isinstance(body, dict):
        raise ProviderFailed("answered JSON that is not an object")
    images = body.get("images")
    if not isinstance(images, list) or not images:
        raise ProviderFailed("answered without images" + (f": {error_message(body)}" if error_message(body) else ""))
    flagged = body.get("has_nsfw_concepts") if isinstance(body.get("has_nsfw_concepts"), list) else []
    # the safety checker blanks a flagged image but still returns it: those are dropped, none left is a refusal
    kept = [image for i, image in enumerate(images) if not (i < len(flagged) and flagged[i] is True)]
    if not kept:
        raise ProviderRefused("refused the prompt: every image was flagged by its safety checker")
    answered_seed = body.get("seed") if isinstance(body.get("seed"), int) else seed
    out = []
    for image in kept:
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str) or not url:
            raise ProviderFailed("answered an image without a url")
        out.append(ImageData(url=url, seed=answered_seed))
    return Answer(images=out)
