"""An analysis job that runs out of starts leaves its asset failed with the reason, not processing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from engine import Engine
from engine.assets import AssetStatus, IngestConfig, IngestOptions
from engine.auth import Principal
from engine.catalog import tables
from engine.catalog.database import now
from tests.conftest import in_own_task
from tests.factories import image_bytes, make_settings


async def test_an_analysis_that_gave_up_fails_its_asset(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    photo = tmp_path / "a.png"
    photo.write_bytes(image_bytes(32, 32, "png"))
    async with Engine.open(settings, run_jobs=False) as engine:  # queued, not run
        owner = Principal(account_id=engine.owner_account_id)
        asset = await engine.ingest.from_path(owner, photo, IngestOptions(config=IngestConfig(auto_summarize=True)))
        job = await engine.jobs.latest_for_asset(owner.account_id, asset.id)
        assert asset.status is AssetStatus.PROCESSING and job is not None
        j = tables.jobs
        async with engine.catalog.begin() as conn:  # its third start died with its worker, like the two before
            await conn.execute(j.update().where(j.c.id == job.id).values(
                status="running", attempts=3, lease_owner="gone:1:x", lease_until=now() - timedelta(seconds=1)))
    async with in_own_task(Engine.open(settings, run_jobs=True)) as engine:
        assert await engine.jobs.wait(job.id, 30)
        ended = await engine.jobs.get(owner.account_id, job.id)
        for _ in range(300):  # the asset follows once the job's end was announced
            after = await engine.assets.get(owner, asset.id)
            if after.status is not AssetStatus.PROCESSING:
                break
            await asyncio.sleep(0.05)
    assert ended.status.value == "failed" and "gave up after 3 starts" in (ended.error or "")
    assert after.status is AssetStatus.FAILED and "gave up after 3 starts" in after.ai.model_dump()["error"]
