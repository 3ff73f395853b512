"""``engine.doctor.check``: each disagreement between the catalog and the store is found, repaired when it can
be, and a second run after a repair is clean; an ingest under way is never harmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.catalog import tables
from engine.catalog.database import now
from engine.doctor import DoctorReport, FindingKind, Severity, check
from engine.jobs import JobStatus
from engine.storage import derivatives_prefix, original_key
from tests.conftest import in_own_task
from tests.factories import image_bytes, make_settings


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    settings = make_settings(tmp_path)
    settings.ingest = settings.ingest.model_copy(update={"blob_grace_s": 60.0})
    async with in_own_task(Engine.open(settings, run_jobs=False)) as opened:
        yield opened


async def ingest(engine: Engine, data: bytes, name: str = "a.png") -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    principal = Principal(account_id=engine.owner_account_id)
    return (await engine.ingest.from_stream(principal, name, chunks(), IngestOptions())).id


async def asset_row(engine: Engine, asset_id: str) -> sa.Row:
    a = tables.assets
    async with engine.catalog.connect() as conn:
        return (await conn.execute(sa.select(a).where(a.c.id == asset_id))).one()


def kinds(report: DoctorReport) -> dict[str, FindingKind]:
    return {found.subject: found.kind for found in report.findings}


async def age_derivatives(engine: Engine, asset_id: str) -> None:
    """Make the asset's derivative files look older than the ingest grace (the doctor leaves young ones)."""
    import os
    import time

    old = time.time() - 2 * engine.settings.ingest.blob_grace_s
    for path in (engine.settings.data_dir / "blobs" / derivatives_prefix(asset_id)).iterdir():
        os.utime(path, (old, old))


async def test_a_healthy_catalog_is_clean(engine: Engine) -> None:
    await ingest(engine, image_bytes(64, 48, "png"))
    report = await check(engine)
    assert report.clean and report.findings == [] and report.assets == 1 and report.derivatives >= 1


async def test_an_earlier_file_version_holds_its_original(engine: Engine) -> None:
    asset_id = await ingest(engine, image_bytes(64, 48, "png"))
    principal = Principal(account_id=engine.owner_account_id)
    await engine.library.versions.replace_bytes(principal, asset_id, image_bytes(65, 48, "png"), "b.png")
    await age_derivatives(engine, asset_id)
    report = await check(engine, repair=True)
    assert report.findings == [], report.findings
    first = (await engine.library.versions.list(principal, asset_id)).items[1].sha256
    assert await engine.store.exists(original_key(first))


async def test_a_missing_original_marks_the_asset_failed_and_keeps_it(engine: Engine) -> None:
    asset_id = await ingest(engine, image_bytes(64, 48, "png"))
    row = await asset_row(engine, asset_id)
    await engine.store.delete(row.blob_key)
    found = await check(engine)
    assert kinds(found)[asset_id] is FindingKind.MISSING_ORIGINAL and not found.clean
    assert (await asset_row(engine, asset_id)).status == "ready", "a check alone changes nothing"
    repaired = await check(engine, repair=True)
    assert repaired.clean and repaired.findings[0].repaired
    after = await asset_row(engine, asset_id)
    assert after.status == "failed" and after.ai["error"].startswith("original_missing")
    again = await check(engine)
    assert again.clean and [f.severity for f in again.findings] == [Severity.NOTE]


async def test_a_derivative_row_without_bytes_is_removed(engine: Engine) -> None:
    asset_id = await ingest(engine, image_bytes(64, 48, "png"))
    await engine.store.delete_prefix(derivatives_prefix(asset_id))
    found = await check(engine)
    assert set(kinds(found).values()) == {FindingKind.MISSING_DERIVATIVE}
    await check(engine, repair=True)
    d = tables.derivatives
    async with engine.catalog.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).where(d.c.asset_id == asset_id)) == 0
    assert (await check(engine)).findings == []


async def test_derivative_files_without_rows_are_deleted_once_old(engine: Engine) -> None:
    asset_id = await ingest(engine, image_bytes(64, 48, "png"))
    stray = f"{derivatives_prefix(asset_id)}stray.webp"
    gone = f"{derivatives_prefix('as_gone')}thumb.webp"  # a crashed ingest: its asset row never came
    for key in (stray, gone):
        await engine.store.put_bytes(key, b"bytes")
    assert (await check(engine)).findings == [], "young files may be waiting for their row"
    await age_derivatives(engine, asset_id)
    await age_derivatives(engine, "as_gone")
    found = await check(engine)
    assert kinds(found) == {stray: FindingKind.ORPHAN_DERIVATIVE, gone: FindingKind.ORPHAN_DERIVATIVE}
    await check(engine, repair=True)
    assert not await engine.store.exists(stray) and not await engine.store.exists(gone)
    assert (await check(engine)).findings == []


async def test_originals_no_asset_holds(engine: Engine) -> None:
    """Unreferenced bytes are collected through the blob references; due ones are notes (the upkeep takes
    them), held ones (an ingest under way) stay."""
    b = tables.blobs
    orphan, due, held = "a" * 64, "b" * 64, "c" * 64
    async with engine.catalog.begin() as conn:
        await conn.execute(b.insert().values(sha256=due, blob_key=original_key(due), collect_after=now()))
    await engine.assets.blobs.hold(held, original_key(held), grace_s=60)
    for sha in (orphan, due, held):
        await engine.store.put_bytes(original_key(sha), b"bytes")
    found = await check(engine)
    assert kinds(found) == {original_key(orphan): FindingKind.ORPHAN_ORIGINAL, original_key(due): FindingKind.DUE_ORIGINAL,
                            original_key(held): FindingKind.HELD_ORIGINAL}
    assert len(found.remaining) == 1
    assert (await check(engine, repair=True)).clean
    assert not await engine.store.exists(original_key(orphan)) and not await engine.store.exists(original_key(due))
    assert await engine.store.exists(original_key(held))
    async with engine.catalog.connect() as conn:
        assert set((await conn.execute(sa.select(b.c.sha256))).scalars()) == {held}
    assert kinds(await check(engine)) == {original_key(held): FindingKind.HELD_ORIGINAL}


async def test_a_repair_racing_an_ingest_of_the_same_bytes_keeps_them(engine: Engine) -> None:
    """The doctor saw unheld bytes; an ingest of the same bytes holds them before the repair collects."""
    data = image_bytes(64, 48, "png")
    first = await ingest(engine, data)
    sha = (await asset_row(engine, first)).sha256
    a = tables.assets
    async with engine.catalog.begin() as conn:  # an asset row gone without its blob marked: an orphan
        await conn.execute(tables.derivatives.delete().where(tables.derivatives.c.asset_id == first))
        await conn.execute(a.delete().where(a.c.id == first))
    original = engine.assets.blobs.collect

    async def ingest_first(shas: object = None, **kw: object) -> int:
        engine.assets.blobs.collect = original  # type: ignore[method-assign]
        second.append(await ingest(engine, data, "again.png"))
        return await original(shas, **kw)  # type: ignore[arg-type]

    second: list[str] = []
    engine.assets.blobs.collect = ingest_first  # type: ignore[method-assign]
    await check(engine, repair=True)
    assert second and await engine.store.read_bytes(original_key(sha)) == data
    assert (await check(engine)).clean


async def test_a_blobs_row_without_bytes_or_asset_is_removed(engine: Engine) -> None:
    b = tables.blobs
    sha = "d" * 64
    async with engine.catalog.begin() as conn:
        await conn.execute(b.insert().values(sha256=sha, blob_key=original_key(sha), collect_after=None))
    assert kinds(await check(engine)) == {sha: FindingKind.UNBACKED_BLOB_ROW}
    assert (await check(engine, repair=True)).clean
    assert (await check(engine)).findings == []


async def test_stuck_assets_lapsed_jobs_and_stalled_uploads(engine: Engine) -> None:
    j, a, u = tables.jobs, tables.assets, tables.uploads
    failed_job, done_job = await ingest(engine, image_bytes(32, 32, "png")), await ingest(engine, image_bytes(33, 32, "png"))
    stamp = now()
    async with engine.catalog.begin() as conn:
        await conn.execute(a.update().values(status="processing"))
        for asset_id, status in ((failed_job, JobStatus.FAILED), (done_job, JobStatus.READY)):
            await conn.execute(j.insert().values(
                id=f"job_{status.value}", account_id=engine.owner_account_id, asset_id=asset_id, kind="enrich",
                status=status.value, payload={"skills": ["caption"]}, steps=[], attempts=3, error="boom",
                created_at=stamp, updated_at=stamp, run_after=stamp))
        await conn.execute(j.insert().values(
            id="job_lapsed", account_id=engine.owner_account_id, kind="nope", status="running", payload={}, steps=[],
            attempts=1, created_at=stamp, updated_at=stamp, run_after=stamp, lease_until=stamp - timedelta(seconds=5)))
        await conn.execute(u.insert().values(
            id="up_stalled", account_id=engine.owner_account_id, length=3, offset=3, metadata={}, status="processing",
            created_at=stamp, updated_at=stamp, lease_until=stamp - timedelta(seconds=5)))
    found = await check(engine)
    assert kinds(found) == {failed_job: FindingKind.STUCK_ASSET, done_job: FindingKind.STUCK_ASSET,
                            "job_lapsed": FindingKind.LAPSED_JOB, "up_stalled": FindingKind.STALLED_UPLOAD}
    assert {f.subject for f in found.remaining} == {failed_job, done_job}
    assert (await check(engine, repair=True)).clean
    assert (await asset_row(engine, failed_job)).status == "failed"
    assert (await asset_row(engine, done_job)).status == "processing"
    queued = await engine.jobs.latest_for_asset(engine.owner_account_id, done_job)
    assert queued is not None and queued.status is JobStatus.QUEUED and queued.payload == {"skills": ["caption"]}
    assert {f.kind for f in (await check(engine)).findings} == {FindingKind.LAPSED_JOB, FindingKind.STALLED_UPLOAD}
