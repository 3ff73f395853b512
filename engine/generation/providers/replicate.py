"""Replicate's predictions API: create with ``Prefer: wait``, poll ``{base}/predictions/{id}`` while it runs.

The poll URL is built from the configured base, never taken from the answer's ``urls.get``, so the key only
goes to the configured host. ``output`` holds result URLs, fetched at once by the service (they expire).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2

from engine.generation.models import ImageFormat, Orientation
from engine.generation.providers.base import (
    Answer, Call, ImageData, ProviderFailed, ProviderRefused, answer_json, failed_status, send,
)
from engine.generation.settings import ProviderName, ReplicateSettings

ASPECT_RATIOS = {Orientation.LANDSCAPE: "16:9", Orientation.PORTRAIT: "9:16", Orientation.SQUARE: "1:1"}
OUTPUT_FORMATS = {ImageFormat.PNG: "png", ImageFormat.JPEG: "jpg", ImageFormat.WEBP: "webp"}
RUNNING = ("starting", "processing")
REFUSAL_WORDS = ("nsfw", "safety", "sensitive", "content policy")


class ReplicatePredictions:
    name = ProviderName.REPLICATE

    def __init__(self, settings: ReplicateSettings, client: httpx2.AsyncClient):
        self.settings = settings
        self.client = client

    @property
    def _base(self) -> str:
        return self.settings.base_url.rstrip("/")

    def body(self, call: Call) -> dict[str, Any]:
        given: dict[str, Any] = {"prompt": call.prompt, "num_outputs": call.count,
                                 "aspect_ratio": ASPECT_RATIOS[call.orientation], "seed": call.seed}
        if call.format is not None:
            given["output_format"] = OUTPUT_FORMATS[call.format]
        return {"input": given}

    async def generate(self, call: Call) -> Answer:
        deadline = time.monotonic() + self.settings.deadline_s
        headers = {"Authorization": f"Bearer {call.key}", "Content-Type": "application/json",
                   "Prefer": f"wait={self.settings.wait_s}"}
        url = f"{self._base}/models/{self.settings.model.strip('/')}/predictions"
        response = await send(self.client, self.settings, "POST", url, headers=headers, json=self.body(call),
                              timeout_s=self.settings.timeout_s + self.settings.wait_s)
        prediction = _prediction(response)
        poll_headers = {"Authorization": f"Bearer {call.key}"}
        while prediction.get("status") in RUNNING:
            if time.monotonic() + self.settings.poll_interval_s > deadline:
                await self._cancel(prediction, poll_headers)
                raise ProviderFailed(f"did not finish within {self.settings.deadline_s:g} s")
            await anyio.sleep(self.settings.poll_interval_s)
            response = await send(self.client, self.settings, "GET", f"{self._base}/predictions/{_id(prediction)}",
                                  headers=poll_headers)
            prediction = _prediction(response)
        return _answer(prediction, call.seed)

    async def _cancel(self, prediction: dict[str, Any], headers: dict[str, str]) -> None:
        try:
            await self.client.post(f"{self._base}/predictions/{_id(prediction)}/cancel", headers=headers, timeout=5.0)
        except httpx2.HTTPError:
            pass


def _prediction(response: httpx2.Response) -> dict[str, Any]:
    body = answer_json(response)
    if response.status_code >= 400:
        raise failed_status(response, body)
    if not isinstance(body, dict):
        raise ProviderFailed("answered JSON that is not an object")
    return body


def _id(prediction: dict[str, Any]) -> str:
    found = prediction.get("id")
    if not isinstance(found, str) or not found.isalnum():
        raise ProviderFailed("answered a prediction without a usable id")
    return found


def _answer(prediction: dict[str, Any], seed: int) -> Answer:
    status = prediction.get("status")
    if status == "failed":
        error = str(prediction.get("error") or "no reason given")[:200]
        if any(word in error.lower() for word in REFUSAL_WORDS):
            raise ProviderRefused(f"refused the prompt: {error}")
        raise ProviderFailed(f"the prediction failed: {error}")
    if status != "succeeded":
        raise ProviderFailed(f"the prediction ended {str(status)[:40]!r}")
    output = prediction.get("output")
    urls = [output] if isinstance(output, str) else output if isinstance(output, list) else []
    if not urls or not all(isinstance(url, str) and url for url in urls):
        raise ProviderFailed("answered without output URLs")
    return Answer(images=[ImageData(url=url, seed=seed) for url in urls])
