"""Content-addressed originals shared by assets in every account and every process.

Bytes may go only when no asset row refers to their sha256 and no ingest is about to write one. The
``blobs`` table carries that between processes, with no lock held outside the catalog:

- an ingest holds the row (``collect_after`` a grace ahead) in its own committed transaction before it
  writes the bytes; the transaction writing its asset row gives the hold back (or refuses the row when the
  hold ran out and the bytes were collected). An ingest that fails leaves the bytes to the sweep;
- a delete marks the rows of the deleted assets' sha256s due, in the transaction that deletes the assets;
- collection takes one row at a time: it locks it and, in that one transaction, deletes it when it is due
  and no asset holds the sha256, deletes the bytes, and commits. A due row an asset still holds is settled
  (``collect_after`` = NULL). An ingest's hold waits on the locked row and then inserts a new one before
  it writes the bytes again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now, utc
from engine.errors import Busy
from engine.storage import BlobStore

log = logging.getLogger("picsha.blobs")

SWEEP_BATCH = 500


@dataclass(frozen=True)
class Hold:
    """An ingest's hold on a blob: the ``collect_after`` it wrote and the one it replaced."""

    sha256: str
    until: datetime
    before: datetime | None


class Outcome(Enum):
    COLLECTED = "collected"
    SETTLED = "settled"  # an asset holds it
    SKIPPED = "skipped"  # not due (an ingest holds it), already gone, or the store failed


class BlobReferences:
    def __init__(self, catalog: Catalog, store: BlobStore):
        self.catalog = catalog
        self.store = store

    # -- ingest ------------------------------------------------------------------------------------

    async def hold(self, sha256: str, blob_key: str, *, grace_s: float) -> Hold:
        """Before writing the bytes: keep collectors away from them for ``grace_s`` (committed at once).

        Every hold moves ``collect_after`` forward, so the value a hold wrote is still there only while no
        later hold came; ``release_hold`` relies on that.
        """
        return (await self.hold_many({sha256: blob_key}, grace_s=grace_s))[sha256]

    async def hold_many(self, blob_keys: Mapping[str, str], *, grace_s: float) -> dict[str, Hold]:
        """``hold`` for many blobs (sha256 -> key) in one transaction and a few statements: a group of files
        written together."""
        b = tables.blobs
        shas = sorted(blob_keys)
        until = now() + timedelta(seconds=grace_s)
        async with self.catalog.begin() as conn:
            before = await self._locked(conn, shas)
            missing = [sha for sha in shas if sha not in before]
            if missing:
                insert = upsert.insert(conn, b).values(
                    [{"sha256": sha, "blob_key": blob_keys[sha], "collect_after": until} for sha in missing])
                made = set((await conn.execute(
                    insert.on_conflict_do_nothing(index_elements=[b.c.sha256]).returning(b.c.sha256))).scalars())
                for sha in missing:
                    if sha not in made:  # another ingest wrote its row meanwhile: locked as any that was there
                        _found, before[sha] = await self._lock(conn, sha, blob_keys[sha], until)
            holds = {sha: Hold(sha256=sha, until=until, before=None) for sha in missing if sha not in before}
            moved: dict[datetime, list[str]] = {}
            for sha, was in before.items():
                mine = until if was is None else max(until, was + timedelta(microseconds=1))
                moved.setdefault(mine, []).append(sha)
                holds[sha] = Hold(sha256=sha, until=mine, before=was)
            for mine, group in moved.items():
                await conn.execute(b.update().where(b.c.sha256.in_(group)).values(collect_after=mine))
        return holds

    async def _locked(self, conn: AsyncConnection, shas: list[str]) -> dict[str, datetime | None]:
        """Lock the rows of ``shas`` that exist, in one order in every process (two groups never wait on
        each other): sha256 -> its collect_after."""
        b = tables.blobs
        if conn.dialect.name != "postgresql":  # SQLite has no row locks: take its write lock, as any write does
            await conn.execute(b.update().where(b.c.sha256.in_(shas)).values(blob_key=b.c.blob_key))
        locked = (sa.select(b.c.sha256, b.c.collect_after).where(b.c.sha256.in_(shas)).order_by(b.c.sha256)
                  .with_for_update())
        return {row.sha256: utc(row.collect_after) for row in await conn.execute(locked)}

    async def _lock(
        self, conn: AsyncConnection, sha256: str, blob_key: str, until: datetime
    ) -> tuple[bool, datetime | None]:
        """Lock the row for the transaction, or insert it holding ``until``: (it was there, its collect_after)."""
        b = tables.blobs
        while True:
            touched = await conn.execute(b.update().where(b.c.sha256 == sha256).values(blob_key=b.c.blob_key))
            if touched.rowcount:
                return True, utc(await conn.scalar(sa.select(b.c.collect_after).where(b.c.sha256 == sha256)))
            insert = upsert.insert(conn, b).values(sha256=sha256, blob_key=blob_key, collect_after=until)
            if (await conn.execute(insert.on_conflict_do_nothing(index_elements=[b.c.sha256]))).rowcount:
                return False, None

    async def release_hold(self, conn: AsyncConnection, hold: Hold) -> None:
        """In the transaction writing the asset row that now holds the blob: give the ingest's hold back.

        Refused when the hold ran out and the bytes were collected. ``collect_after`` goes back to what it
        was before the hold unless a later hold moved it (that ingest gives it back in its turn), so a
        delete right after collects at once while any ingest still writing keeps its protection.
        """
        await self.release_holds(conn, [hold])

    async def release_holds(self, conn: AsyncConnection, holds: list[Hold]) -> None:
        """``release_hold`` for many (a group's rows, in one transaction); refused if any one ran out."""
        b = tables.blobs
        now_at = await self._locked(conn, [hold.sha256 for hold in holds])
        if any(hold.sha256 not in now_at for hold in holds):
            raise Busy("The upload took longer than its storage hold and its bytes were released; send it again.",
                       code="ingest_hold_expired")
        back: dict[datetime | None, list[str]] = {}
        for hold in holds:
            if now_at[hold.sha256] == hold.until:
                back.setdefault(hold.before, []).append(hold.sha256)
        for before, group in back.items():
            await conn.execute(b.update().where(b.c.sha256.in_(group)).values(collect_after=before))

    # -- delete ------------------------------------------------------------------------------------

    async def release(self, conn: AsyncConnection, blob_keys: Mapping[str, str]) -> None:
        """In the transaction that deleted asset rows: mark their blobs due (a later ingest hold stays).

        Every released sha256 is marked, held elsewhere or not: deciding here from asset rows other
        transactions are deleting at the same time could leave a blob no one collects. Collection decides.
        """
        if not blob_keys:
            return
        b = tables.blobs
        stamp = now()
        rows = [{"sha256": sha, "blob_key": blob_keys[sha], "collect_after": stamp} for sha in sorted(blob_keys)]
        insert = upsert.insert(conn, b).values(rows)  # sorted: two deletes lock rows in the same order
        due = sa.func.coalesce(b.c.collect_after, insert.excluded.collect_after)
        await conn.execute(insert.on_conflict_do_update(index_elements=[b.c.sha256], set_={"collect_after": due}))

    # -- collection --------------------------------------------------------------------------------

    async def collect(self, shas: Iterable[str] | None = None, *, limit: int = SWEEP_BATCH) -> int:
        """Delete the blobs of ``shas`` (default: the ``limit`` longest due) that are due and unheld.

        Return how many were deleted.
        """
        if shas is None:
            candidates = [sha for sha, _ in await self._due(now(), limit)]
        else:
            candidates = list(dict.fromkeys(shas))
        outcomes = [await self._collect_one(sha) for sha in candidates]
        return outcomes.count(Outcome.COLLECTED)

    async def collect_due(self) -> int:
        """The periodic sweep: every blob due now, in batches; each candidate is tried once per sweep."""
        cutoff, after, collected = now(), None, 0
        while candidates := await self._due(cutoff, SWEEP_BATCH, after=after):
            outcomes = [await self._collect_one(sha) for sha, _ in candidates]
            collected += outcomes.count(Outcome.COLLECTED)
            if len(candidates) < SWEEP_BATCH:
                break
            after = candidates[-1]
        return collected

    async def _due(
        self, cutoff: datetime, limit: int, *, after: tuple[str, datetime] | None = None
    ) -> list[tuple[str, datetime]]:
        b = tables.blobs
        query = sa.select(b.c.sha256, b.c.collect_after).where(b.c.collect_after <= cutoff)
        if after is not None:
            sha, stamp = after
            later = sa.or_(b.c.collect_after > stamp, sa.and_(b.c.collect_after == stamp, b.c.sha256 > sha))
            query = query.where(later)
        query = query.order_by(b.c.collect_after, b.c.sha256).limit(limit)
        async with self.catalog.connect() as conn:
            return [(row.sha256, row.collect_after) for row in await conn.execute(query)]

    async def _collect_one(self, sha256: str) -> Outcome:
        try:
            async with self.catalog.begin() as conn:
                return await self._collect_in(conn, sha256)
        except Exception:  # the row stays due; the next sweep tries again
            log.warning("collecting blob %s failed", sha256, exc_info=True)
            return Outcome.SKIPPED

    async def _collect_in(self, conn: AsyncConnection, sha256: str) -> Outcome:
        a, b = tables.assets, tables.blobs
        stamp = now()
        locked = sa.select(b.c.blob_key, b.c.collect_after).where(b.c.sha256 == sha256).with_for_update()
        row = (await conn.execute(locked)).first()
        if row is None or row.collect_after is None or utc(row.collect_after) > stamp:
            return Outcome.SKIPPED
        # statements after the lock see every transaction that changed the row before it, so an asset row
        # deleted by one of them is seen gone, and one inserted after an ingest hold is seen there
        # an earlier version of an asset's file (engine.library.versions) holds its bytes as an asset row does
        v = tables.asset_versions
        held = sa.or_(sa.exists().where(a.c.sha256 == sha256), sa.exists().where(v.c.sha256 == sha256))
        due = sa.and_(b.c.sha256 == sha256, b.c.collect_after <= stamp)
        if (await conn.execute(b.delete().where(due, ~held))).rowcount:
            await self.store.delete(row.blob_key)  # inside the transaction: a failure keeps the row
            return Outcome.COLLECTED
        settled = await conn.execute(b.update().where(due, held).values(collect_after=None))
        return Outcome.SETTLED if settled.rowcount else Outcome.SKIPPED
