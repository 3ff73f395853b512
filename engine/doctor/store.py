"""The catalog against the blob store: rows without bytes, bytes without rows.

The store is listed before the catalog is read. An original is written only after its ingest's hold is
committed, and an asset or derivative row only after its bytes: so bytes seen in the listing have their hold
or row visible to the reads that follow, and a row read later whose bytes were not listed is looked up again
before it counts as missing. Repairs of originals go through ``BlobReferences`` (mark due, then collect under
the row lock), never a bare delete, so an ingest writing the same bytes at that moment keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.assets.models import AssetStatus
from engine.catalog import tables
from engine.catalog.database import now, utc
from engine.doctor.models import Finding, FindingKind, Severity
from engine.engine import Engine
from engine.events import Event, EventType
from engine.storage import StoredBlob

ORIGINAL_MISSING = "original_missing"
MISSING_MESSAGE = f"{ORIGINAL_MISSING}: the original file is missing from storage; upload it again."


@dataclass
class Listing:
    originals: dict[str, StoredBlob] = field(default_factory=dict)
    derivatives: dict[str, StoredBlob] = field(default_factory=dict)


async def list_store(engine: Engine) -> Listing:
    listing = Listing()
    async for blob in engine.store.list_keys("originals/"):
        listing.originals[blob.key] = blob
    async for blob in engine.store.list_keys("derivatives/"):
        listing.derivatives[blob.key] = blob
    return listing


def sha_of(key: str) -> str:
    return key.rsplit("/", 1)[-1]


# -- originals -------------------------------------------------------------------------------------


async def check_originals(engine: Engine, listing: Listing, *, repair: bool) -> tuple[int, list[Finding]]:
    a, b = tables.assets, tables.blobs
    async with engine.catalog.connect() as conn:
        assets = (await conn.execute(sa.select(a.c.id, a.c.account_id, a.c.status, a.c.sha256, a.c.blob_key, a.c.ai))).all()
        blob_rows = {row.sha256: row for row in await conn.execute(sa.select(b))}
        versions = set((await conn.execute(sa.select(tables.asset_versions.c.sha256))).scalars())
    findings = [await _missing(engine, row, repair) for row in assets
                if row.blob_key not in listing.originals and not await engine.store.exists(row.blob_key)]
    held = {row.sha256 for row in assets} | versions  # an earlier file version holds its bytes too
    for key in listing.originals:
        if sha_of(key) not in held and (found := await _unheld(engine, key, blob_rows.get(sha_of(key)), repair)):
            findings.append(found)
    for sha, row in blob_rows.items():
        if sha not in held and row.blob_key not in listing.originals and (found := await _unbacked(engine, row, repair)):
            findings.append(found)
    return len(assets), findings


async def _missing(engine: Engine, row: sa.Row, repair: bool) -> Finding:
    ai = dict(row.ai or {})
    found = Finding(kind=FindingKind.MISSING_ORIGINAL, severity=Severity.PROBLEM, subject=row.id,
                    detail=f"asset {row.id} ({row.status}): its original {row.blob_key} is not in the store",
                    action="mark the asset failed (the bytes cannot be restored; upload the file again)")
    if row.status == AssetStatus.FAILED.value and str(ai.get("error", "")).startswith(ORIGINAL_MISSING):
        return found.model_copy(update={"severity": Severity.NOTE, "action": "marked failed by an earlier repair"})
    if repair:
        a = tables.assets
        async with engine.catalog.begin() as conn:
            await conn.execute(a.update().where(a.c.id == row.id).values(
                status=AssetStatus.FAILED.value, ai=ai | {"error": MISSING_MESSAGE}, updated_at=now()))
        await engine.events.publish(Event(type=EventType.ASSET_FAILED, account_id=row.account_id,
                                          data={"asset_id": row.id, "status": AssetStatus.FAILED.value}))
        found.repaired = True
    return found


async def _held_now(engine: Engine, sha256: str) -> bool:
    a, v = tables.assets, tables.asset_versions
    held = sa.or_(sa.exists().where(a.c.sha256 == sha256), sa.exists().where(v.c.sha256 == sha256))
    async with engine.catalog.connect() as conn:
        return bool(await conn.scalar(sa.select(held)))


async def _collect(engine: Engine, sha256: str, key: str) -> bool:
    """Through the blob references: mark it due (an ingest's later hold stays), then collect it if unheld."""
    async with engine.catalog.begin() as conn:
        await engine.assets.blobs.release(conn, {sha256: key})
    return await engine.assets.blobs.collect([sha256]) > 0


async def _unheld(engine: Engine, key: str, row: sa.Row | None, repair: bool) -> Finding | None:
    """Original bytes no asset held when the catalog was read."""
    sha = sha_of(key)
    after = utc(row.collect_after) if row is not None else None
    if after is not None and after > now():
        return Finding(kind=FindingKind.HELD_ORIGINAL, severity=Severity.NOTE, subject=key,
                       detail=f"no asset holds it yet; an ingest holds it until {after.isoformat(timespec='seconds')}, "
                       "then the upkeep collects it unless an asset came")
    if await _held_now(engine, sha) or not await engine.store.exists(key):
        return None  # an ingest finished, or a collection took it, since the listing
    if after is not None:
        found = Finding(kind=FindingKind.DUE_ORIGINAL, severity=Severity.NOTE, subject=key,
                        detail="no asset holds it; due for collection by the upkeep", action="collect it now")
    else:
        found = Finding(kind=FindingKind.ORPHAN_ORIGINAL, severity=Severity.PROBLEM, subject=key,
                        detail="no asset holds it and nothing is set to collect it", action="collect it")
    if repair:
        found.repaired = await _collect(engine, sha, key)
    return found


async def _unbacked(engine: Engine, row: sa.Row, repair: bool) -> Finding | None:
    """A ``blobs`` row whose bytes were not listed and that no asset held."""
    after = utc(row.collect_after)
    if (after is not None and after > now()) or await engine.store.exists(row.blob_key) or await _held_now(engine, row.sha256):
        return None  # an ingest's hold (its bytes may be on their way), or things changed since the listing
    due = after is not None
    found = Finding(kind=FindingKind.UNBACKED_BLOB_ROW, severity=Severity.NOTE if due else Severity.PROBLEM,
                    subject=row.sha256, detail=f"blobs row for {row.blob_key} with no bytes and no asset"
                    + ("; due for the upkeep" if due else ""), action="remove the row through collection")
    if repair:
        found.repaired = await _collect(engine, row.sha256, row.blob_key)
    return found


# -- derivatives -----------------------------------------------------------------------------------


async def check_derivatives(engine: Engine, listing: Listing, *, repair: bool, young_s: float) -> tuple[int, list[Finding]]:
    d = tables.derivatives
    async with engine.catalog.connect() as conn:
        rows = (await conn.execute(sa.select(d.c.id, d.c.asset_id, d.c.blob_key))).all()
    findings = [await _missing_derivative(engine, row, repair) for row in rows
                if row.blob_key not in listing.derivatives and not await engine.store.exists(row.blob_key)]
    known = {row.blob_key for row in rows}
    young = now() - timedelta(seconds=young_s)
    for key, blob in listing.derivatives.items():
        if key not in known and (found := await _orphan_derivative(engine, blob, young, repair)):
            findings.append(found)
    return len(rows), findings


async def _missing_derivative(engine: Engine, row: sa.Row, repair: bool) -> Finding:
    found = Finding(kind=FindingKind.MISSING_DERIVATIVE, severity=Severity.PROBLEM, subject=row.id,
                    detail=f"derivative of {row.asset_id}: {row.blob_key} is not in the store",
                    action="remove the row (it is rendered again when asked for)")
    if repair:
        d = tables.derivatives
        async with engine.catalog.begin() as conn:
            await conn.execute(d.delete().where(d.c.id == row.id))
        found.repaired = True
    return found


async def _orphan_derivative(engine: Engine, blob: StoredBlob, young: datetime, repair: bool) -> Finding | None:
    """Bytes under an asset's derivatives prefix that no row names. Young ones are left alone: a render or an
    ingest writes the bytes first and its row a moment later."""
    if blob.modified > young:
        return None
    d, a = tables.derivatives, tables.assets
    asset_id = blob.key.split("/")[1]
    async with engine.catalog.connect() as conn:
        if await conn.scalar(sa.select(sa.exists().where(d.c.blob_key == blob.key))):
            return None
        asset_there = await conn.scalar(sa.select(sa.exists().where(a.c.id == asset_id)))
    why = "no derivative row names it" if asset_there else f"asset {asset_id} is gone"
    found = Finding(kind=FindingKind.ORPHAN_DERIVATIVE, severity=Severity.PROBLEM, subject=blob.key,
                    detail=f"{why} ({blob.size} bytes)", action="delete the file")
    if repair:
        await engine.store.delete(blob.key)
        found.repaired = True
    return found
