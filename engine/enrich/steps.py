"""One function per skill: read the source and what earlier steps found, add to ``state.ai``.

Each returns ``None`` when it did its work or the reason it did nothing (the job records it).
Model calls run in a worker thread; they are CPU-bound and must not stall the event loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np

from engine.assets.models import WORDS_KEY
from engine.enrich import colors, ocr, offline_writer, regions, safety
from engine.enrich.claude import ClaudeWriter, Written
from engine.enrich.derived_text import derived_text
from engine.enrich.model_store import ModelStore
from engine.enrich.settings import EnrichSettings
from engine.enrich.source import AssetRecord, Source
from engine.places.google import GoogleGeocoder

log = logging.getLogger("picsha.enrich")

Charge = Callable[[AssetRecord, str, str, float | None], Awaitable[None]]
"""(asset, step, model, cost_usd or None for the price table) -> writes one usage-ledger row."""

WORDS_MAX_CHARS = 16_000  # of a document's own text kept for the index (the derived text holds 20,000)
MIN_PDF_TEXT = 20  # a PDF with fewer characters in its text layer is treated as scanned and OCRed


@dataclass
class State:
    source: Source
    flags: dict[str, bool]
    ai: dict[str, Any]
    explicit: list[str] | None = None
    clip_vec: list[float] | None = None
    text_vec: list[float] | None = None
    text: str = ""
    location: dict[str, Any] | None = None  # set when a step changed the asset's location


@dataclass
class Steps:
    settings: EnrichSettings
    models: ModelStore
    charge: Charge
    writer: ClaudeWriter | None
    limiter: anyio.CapacityLimiter
    geocoder: GoogleGeocoder | None = None

    async def _cpu(self, fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn, limiter=self.limiter)

    async def colors(self, state: State) -> str | None:
        image = state.source.image
        if image is None:
            return "no pixels"
        found = await self._cpu(lambda: colors.describe_colors(image))
        state.ai.update(colors=found["colors"], phash=found["phash"])
        return None

    async def faces(self, state: State) -> str | None:
        image = state.source.image
        if image is None:
            return "no pixels"
        found = await self._cpu(lambda: regions.find_regions(
            image, face_threshold=self.settings.face_threshold, region_threshold=self.settings.region_threshold))
        scale = state.source.scale
        for box in found["faces"]["boxes"]:
            box.update({key: int(round(box[key] * scale)) for key in ("x", "y", "w", "h")})
        state.ai.update(faces=found["faces"], regions=found["regions"])
        state.explicit = found["explicit"]
        await self.charge(state.source.record, "faces", "nudenet-320n", None)
        return None

    async def safe_search(self, state: State) -> str | None:
        image = state.source.image
        if image is None:
            return "no pixels"
        if state.explicit is None:
            await self.faces(state)
        verdict = await self._cpu(lambda: safety.judge(image, state.explicit or [], self.settings.nsfw_threshold))
        state.ai.update(safe_search=verdict["safe_search"], safe_search_reason=verdict["reason"],
                        nsfw_score=verdict["nsfw_score"])
        await self.charge(state.source.record, "safe_search", "open-nsfw", None)
        return None

    async def ocr(self, state: State) -> str | None:
        source = state.source
        if not source.pages:
            return "no pixels"
        if source.record.format == "pdf" and len((source.text or "").strip()) >= MIN_PDF_TEXT:
            return "the PDF has a text layer"
        text = await self._cpu(lambda: ocr.read_text(source.pages))
        state.ai["ocr_text"] = text or None
        await self.charge(state.source.record, "ocr", "pp-ocr", None)
        return None

    async def clip(self, state: State) -> str | None:
        image = state.source.image
        model = await self._cpu(self.models.clip)
        if model is None:
            return "no CLIP weights"
        if image is None:
            return "no pixels"
        vector = (await self._cpu(lambda: model.embed_images([image])))[0]
        if state.flags.get("vectorize", True):
            state.clip_vec = [float(v) for v in vector]
        if state.flags.get("auto_tag", True):
            clip_settings = self.settings.clip
            state.ai["tags"] = await self._cpu(
                lambda: model.zero_shot_tags(vector, clip_settings.tags_top_k, clip_settings.tags_min_probability))
        await self.charge(state.source.record, "clip", model.name, None)
        return None

    async def caption(self, state: State) -> str | None:
        record, image = state.source.record, state.source.image
        document_text = state.source.text or state.ai.get("ocr_text") or ""
        is_image = record.type == "image"
        if not is_image and not document_text.strip():
            return "no text to summarize"
        written = await self._claude(image if is_image else None, None if is_image else document_text)
        if written is not None:
            state.ai["caption" if is_image else "summary"] = written.text
            state.ai["source"] = "claude"
            await self.charge(state.source.record, "caption", written.model, written.cost_usd)
            return None
        state.ai["source"] = "offline"
        if is_image:
            state.ai["caption"] = offline_writer.caption_image(record, state.ai)
        else:
            state.ai["summary"] = offline_writer.summarize(document_text)
        return None

    async def _claude(self, image: np.ndarray | None, text: str | None) -> Written | None:
        if self.writer is None:
            return None
        try:
            return await (self.writer.caption(image) if image is not None else self.writer.summarize(text or ""))
        except Exception as error:  # after retries: say so and fall back to the offline writer
            log.warning("Claude failed (%s); writing offline", error)
            return None

    async def place(self, state: State) -> str | None:
        location = state.source.record.location
        if self.geocoder is None:
            return "no Google Maps key"
        if not location:
            return "no GPS position"
        found = await self.geocoder.lookup(location["lat"], location["lon"])
        await self.charge(state.source.record, "place", "google-geocoding", self.geocoder.settings.price_usd)
        if found is None:
            return "Google knows no address here"
        state.location = {"lat": location["lat"], "lon": location["lon"], "label": found.label}
        state.source.record.location = state.location
        return None

    async def index_text(self, state: State) -> str | None:
        """Derived text for the index, and its MiniLM vector when the upload asked for vectors."""
        record = state.source.record
        if state.source.text and state.source.text.strip():  # kept, so edits and rebuilds index the words too
            state.ai[WORDS_KEY] = state.source.text.strip()[:WORDS_MAX_CHARS]
        record.ai = state.ai
        state.text = derived_text(record)
        if not state.flags.get("vectorize", True):
            return "vectorize is off"
        text = state.text or record.filename
        state.text_vec = [float(v) for v in (await self._cpu(lambda: self.models.embed_texts([text])))[0]]
        await self.charge(state.source.record, "index", "all-MiniLM-L6-v2", None)
        return None


def anthropic_key(settings: EnrichSettings) -> str | None:
    if settings.claude.api_key is not None:
        return settings.claude.api_key.get_secret_value() or None
    return os.environ.get("ANTHROPIC_API_KEY") or None
