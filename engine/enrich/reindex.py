"""Rebuilding the search index from the catalog (``picsha reindex``): every row, text vectors in batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import sqlalchemy as sa

from engine.catalog import tables
from engine.enrich.clip import ClipModel
from engine.enrich.derived_text import derived_text
from engine.enrich.skills import resolve_flags
from engine.enrich.source import RECORD_FIELDS, AssetRecord, load_image

if TYPE_CHECKING:
    from engine.enrich.service import EnrichService

BATCH = 128


async def rebuild_index(service: EnrichService, progress: Callable[[int, int], None] | None = None) -> int:
    """Drop the index and write every asset again; CLIP vectors are recomputed when weights are present."""
    a = tables.assets
    async with service.catalog.connect() as conn:
        total = await conn.scalar(sa.select(sa.func.count()).select_from(a)) or 0
    await service.index.reset()
    clip = await anyio.to_thread.run_sync(service.steps.models.clip)
    done, last_id = 0, ""
    while True:
        async with service.catalog.connect() as conn:
            rows = (await conn.execute(
                sa.select(*(a.c[f] for f in RECORD_FIELDS)).where(a.c.id > last_id).order_by(a.c.id).limit(BATCH)
            )).all()
        if not rows:
            return done
        records = [AssetRecord(**{f: getattr(row, f) for f in RECORD_FIELDS}) for row in rows]
        await _write_batch(service, records, clip)
        done, last_id = done + len(records), records[-1].id
        if progress:
            progress(done, total)


async def _write_batch(service: EnrichService, records: list[AssetRecord], clip: ClipModel | None) -> None:
    texts = [derived_text(record) for record in records]
    vectors = await anyio.to_thread.run_sync(lambda: service.steps.models.embed_texts(texts))
    for record, text, vector in zip(records, texts, vectors, strict=True):
        wants = resolve_flags(record.config or {}, service.settings.defaults)["vectorize"]
        clip_vec = await _clip_vector(service, clip, record) if wants and clip is not None else None
        text_vec = [float(v) for v in vector] if wants else None
        row = await service.index_row(record, text, record.status, text_vec, clip_vec)
        await service.index.upsert(row, keep_vectors=False)


async def _clip_vector(service: EnrichService, clip: ClipModel, record: AssetRecord) -> list[float] | None:
    if record.type != "image":
        return None
    async with service.store.local_path(record.blob_key) as path:
        image, _scale = await anyio.to_thread.run_sync(
            lambda: load_image(path, record.format, service.settings.max_side_px))
    return [float(v) for v in await anyio.to_thread.run_sync(lambda: clip.embed_images([image])[0])]
