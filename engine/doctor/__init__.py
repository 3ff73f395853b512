"""``picsha doctor``: check that the catalog and the blob store agree, and repair what can be repaired.

Public surface: ``check(engine, repair=...)`` returning a ``DoctorReport``. Every check is safe beside
running servers: findings are confirmed again before they count, and repairs of originals go through the
blob references like any delete.
"""

from __future__ import annotations

from engine.doctor.models import DoctorReport, Finding, FindingKind, Severity
from engine.doctor.store import check_derivatives, check_originals, list_store
from engine.doctor.work import check_jobs, check_stuck_assets, check_uploads
from engine.engine import Engine

__all__ = ["DoctorReport", "Finding", "FindingKind", "Severity", "check"]


async def check(engine: Engine, repair: bool = False) -> DoctorReport:
    listing = await list_store(engine)  # before any catalog read (see engine.doctor.store)
    assets, findings = await check_originals(engine, listing, repair=repair)
    # a derivative file younger than the ingest grace may still be waiting for its row (an ingest in progress)
    derivatives, orphans = await check_derivatives(engine, listing, repair=repair,
                                                   young_s=engine.settings.ingest.blob_grace_s)
    findings += orphans
    findings += await check_stuck_assets(engine, repair=repair)
    findings += await check_uploads(engine)
    findings += await check_jobs(engine)
    return DoctorReport(repair=repair, assets=assets, derivatives=derivatives,
                        stored_blobs=len(listing.originals) + len(listing.derivatives), findings=findings)
