"""Work that a crash may have cut off: assets left ``processing``, uploads mid-ingest, jobs with lapsed leases."""

from __future__ import annotations

import sqlalchemy as sa

from engine.assets.models import AssetStatus
from engine.catalog import tables
from engine.catalog.database import now, utc
from engine.doctor.models import Finding, FindingKind, Severity
from engine.engine import Engine
from engine.events import Event, EventType
from engine.jobs import JobStatus
from engine.uploads.models import UploadStatus

UNFINISHED_JOBS = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


async def check_stuck_assets(engine: Engine, *, repair: bool) -> list[Finding]:
    """Assets ``processing`` with no queued or running job: nothing will ever finish them."""
    a, j = tables.assets, tables.jobs
    working = sa.exists().where(j.c.asset_id == a.c.id, j.c.status.in_(UNFINISHED_JOBS))
    async with engine.catalog.connect() as conn:
        rows = (await conn.execute(
            sa.select(a.c.id, a.c.account_id).where(a.c.status == AssetStatus.PROCESSING.value, ~working))).all()
    return [await _stuck(engine, row.id, row.account_id, repair) for row in rows]


async def _stuck(engine: Engine, asset_id: str, account_id: str, repair: bool) -> Finding:
    last = await engine.jobs.latest_for_asset(account_id, asset_id)
    again = last is not None and last.status is JobStatus.READY  # it ran, yet its result never reached the asset
    if last is None:
        why = "no analysis job"
    else:
        why = f"its last job {last.id} ended {last.status.value}" + (f" ({last.error})" if last.error else "")
    found = Finding(kind=FindingKind.STUCK_ASSET, severity=Severity.PROBLEM, subject=asset_id,
                    detail=f"processing, but {why}",
                    action="queue its analysis again" if again else "mark it failed")
    if not repair:
        return found
    if again and last is not None:
        await engine.jobs.enqueue(account_id=account_id, kind=last.kind, asset_id=asset_id, payload=last.payload)
    else:
        await _mark_failed(engine, asset_id, account_id, f"analysis_failed: {why}")
    found.repaired = True
    return found


async def _mark_failed(engine: Engine, asset_id: str, account_id: str, reason: str) -> None:
    a = tables.assets
    async with engine.catalog.begin() as conn:
        ai = await conn.scalar(sa.select(a.c.ai).where(a.c.id == asset_id))
        changed = await conn.execute(
            a.update().where(a.c.id == asset_id, a.c.status == AssetStatus.PROCESSING.value)
            .values(status=AssetStatus.FAILED.value, ai=dict(ai or {}) | {"error": reason}, updated_at=now()))
    if changed.rowcount:
        await engine.events.publish(Event(type=EventType.ASSET_FAILED, account_id=account_id,
                                          data={"asset_id": asset_id, "status": AssetStatus.FAILED.value}))


async def check_uploads(engine: Engine) -> list[Finding]:
    u = tables.uploads
    lapsed = sa.or_(u.c.lease_until.is_(None), u.c.lease_until < now())
    async with engine.catalog.connect() as conn:
        rows = (await conn.execute(sa.select(u.c.id).where(u.c.status == UploadStatus.PROCESSING.value, lapsed))).all()
    return [Finding(kind=FindingKind.STALLED_UPLOAD, severity=Severity.NOTE, subject=row.id,
                    detail="its ingest was cut off; the upload sweeper finishes it") for row in rows]


async def check_jobs(engine: Engine) -> list[Finding]:
    j = tables.jobs
    lapsed = sa.or_(j.c.lease_until.is_(None), j.c.lease_until < now())
    async with engine.catalog.connect() as conn:
        rows = (await conn.execute(
            sa.select(j.c.id, j.c.kind, j.c.lease_until).where(j.c.status == JobStatus.RUNNING.value, lapsed))).all()
    return [Finding(kind=FindingKind.LAPSED_JOB, severity=Severity.NOTE, subject=row.id,
                    detail=f"{row.kind} job running under a lease that lapsed"
                    + (f" at {utc(row.lease_until).isoformat(timespec='seconds')}" if row.lease_until else "")
                    + "; a worker takes it up again") for row in rows]
