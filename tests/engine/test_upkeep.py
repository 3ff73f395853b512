"""The upkeep that runs beside job workers: finished jobs past their time to live are purged, and blobs no
asset holds are collected once they are due; unfinished jobs and held blobs stay."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from engine import Engine
from engine.catalog import tables
from engine.catalog.database import now
from engine.storage import original_key
from tests.conftest import in_own_task
from tests.factories import make_settings


async def test_old_jobs_are_purged_and_unheld_blobs_collected(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.jobs = settings.jobs.model_copy(update={"upkeep_interval_s": 0.1, "keep_days": 1.0})
    orphan, held = "a" * 64, "b" * 64
    async with in_own_task(Engine.open(settings, run_jobs=True)) as engine:
        j, b = tables.jobs, tables.blobs
        old = now() - timedelta(days=2)
        async with engine.catalog.begin() as conn:
            for job_id, status in (("job_oldready", "ready"), ("job_oldqueued", "queued")):
                await conn.execute(j.insert().values(
                    id=job_id, account_id="acct_a", kind="nope", status=status, payload={}, steps=[], attempts=0,
                    created_at=old, updated_at=old, run_after=now() + timedelta(days=1),
                    finished_at=old if status == "ready" else None))
            await conn.execute(b.insert().values(sha256=orphan, blob_key=original_key(orphan), collect_after=old))
            await conn.execute(b.insert().values(sha256=held, blob_key=original_key(held),
                                                 collect_after=now() + timedelta(hours=1)))
        for sha in (orphan, held):
            await engine.store.put_bytes(original_key(sha), b"bytes")

        async def upkept() -> bool:
            async with engine.catalog.connect() as conn:
                jobs = set((await conn.execute(sa.select(j.c.id))).scalars())
            return "job_oldready" not in jobs and not await engine.store.exists(original_key(orphan))

        for _ in range(100):
            if await upkept():
                break
            await asyncio.sleep(0.1)
        async with engine.catalog.connect() as conn:
            jobs = set((await conn.execute(sa.select(j.c.id))).scalars())
        orphan_kept = await engine.store.exists(original_key(orphan))
        held_kept = await engine.store.exists(original_key(held))
    assert "job_oldready" not in jobs and "job_oldqueued" in jobs
    assert not orphan_kept and held_kept
