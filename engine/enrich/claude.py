"""Captions and summaries written by Claude, with retries and the provider's token cost returned."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from engine.enrich.settings import ClaudeSettings

CAPTION_PROMPT = (
    "Write one factual sentence (at most 30 words) describing this image for search and alt text. "
    "No preamble."
)
SUMMARY_PROMPT = "Summarize this document in at most three sentences. No preamble.\n\n<document>\n{text}\n</document>"
MAX_DOCUMENT_CHARS = 40_000


@dataclass
class Written:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float


def _jpeg_base64(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=85)
    return base64.b64encode(buffer.getvalue()).decode()


def _retryable(error: BaseException) -> bool:
    import anthropic

    if isinstance(error, anthropic.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return isinstance(error, anthropic.APIConnectionError)


class ClaudeWriter:
    def __init__(self, settings: ClaudeSettings, api_key: str, http_client: Any = None):
        import anthropic

        self.settings = settings
        # Retries are ours (tenacity), so the SDK's own are off.
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=settings.base_url, timeout=settings.timeout_s, max_retries=0,
            http_client=http_client,
        )

    async def ask(self, content: list[dict[str, Any]]) -> Written:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.attempts), wait=wait_exponential(multiplier=0.5, max=8),
            retry=retry_if_exception(_retryable), reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                message = await self.client.messages.create(
                    model=self.settings.model, max_tokens=self.settings.max_tokens,
                    messages=[{"role": "user", "content": content}],
                )
        text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text").strip()
        usage = message.usage
        cost = (usage.input_tokens * self.settings.input_usd_per_mtok + usage.output_tokens * self.settings.output_usd_per_mtok) / 1e6
        return Written(text=text, model=message.model, input_tokens=usage.input_tokens,
                       output_tokens=usage.output_tokens, cost_usd=cost)

    async def caption(self, image: np.ndarray) -> Written:
        data = await anyio.to_thread.run_sync(_jpeg_base64, image)  # encoding takes tens of ms: off the loop
        return await self.ask([
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": data}},
            {"type": "text", "text": CAPTION_PROMPT},
        ])

    async def summarize(self, text: str) -> Written:
        return await self.ask([{"type": "text", "text": SUMMARY_PROMPT.format(text=text[:MAX_DOCUMENT_CHARS])}])
