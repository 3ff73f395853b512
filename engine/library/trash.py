"""The trash: a delete hides an asset everywhere but here; a restore brings it back; a purge (asked for, or
after the keep time) deletes it for good through ``AssetService``, which frees its blobs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa

from engine.assets.models import Asset, AssetPage, BatchDeleteResult, ListQuery
from engine.assets.service import ANSWER, AssetService, not_found
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.events import Event, EventBus, EventType

log = logging.getLogger("picsha.trash")

PURGE_BATCH = 200
TRASHED = tables.assets.c.trashed_at.is_not(None)


class Trash:
    def __init__(self, catalog: Catalog, assets: AssetService, events: EventBus, *, keep_days: int):
        self.catalog = catalog
        self.assets = assets
        self.events = events
        self.keep_days = keep_days

    async def trash(self, principal: Principal, asset_ids: Sequence[str]) -> list[str]:
        """Move the caller's live assets among ``asset_ids`` to the trash; return those moved."""
        return await self._flip(principal, asset_ids, to_trash=True)

    async def restore(self, principal: Principal, asset_ids: Sequence[str]) -> list[str]:
        """Bring the caller's trashed assets among ``asset_ids`` back; return those restored."""
        return await self._flip(principal, asset_ids, to_trash=False)

    async def _flip(self, principal: Principal, asset_ids: Sequence[str], *, to_trash: bool) -> list[str]:
        a = tables.assets
        unique = list(dict.fromkeys(asset_ids))
        where = [a.c.id.in_(unique), a.c.account_id == principal.account_id,
                 a.c.trashed_at.is_(None) if to_trash else TRASHED]
        stamp = now()
        async with self.catalog.begin() as conn:
            ids = list((await conn.execute(sa.select(a.c.id).where(*where))).scalars())
            if ids:
                await conn.execute(a.update().where(a.c.id.in_(ids), *where[1:])
                                   .values(trashed_at=stamp if to_trash else None, updated_at=stamp))
        kind = EventType.ASSET_TRASHED if to_trash else EventType.ASSET_RESTORED
        await self.events.publish(*(Event(type=kind, account_id=principal.account_id, data={"asset_id": i})
                                    for i in ids))
        return [i for i in unique if i in set(ids)]

    async def trash_one(self, principal: Principal, asset_id: str) -> Asset:
        if not await self.trash(principal, [asset_id]):
            raise not_found(asset_id)
        return await self.get(principal, asset_id)

    async def restore_one(self, principal: Principal, asset_id: str) -> Asset:
        if not await self.restore(principal, [asset_id]):
            raise not_found(asset_id)
        return await self.assets.get(principal, asset_id)

    async def purge_one(self, principal: Principal, asset_id: str) -> Asset:
        """Delete one asset for good, in the trash or not; the answer is the asset as it was."""
        before = await self.get(principal, asset_id, trashed_only=False)
        if not (await self.purge(principal, [asset_id])).deleted:
            raise not_found(asset_id)
        return before

    async def get(self, principal: Principal, asset_id: str, *, trashed_only: bool = True) -> Asset:
        """A trashed asset (404 when it is not in the caller's trash); ``trashed_only=False``: any of theirs."""
        a = tables.assets
        query = sa.select(*ANSWER).where(a.c.id == asset_id, a.c.account_id == principal.account_id,
                                         *([TRASHED] if trashed_only else []))
        row = await self.catalog.read(lambda conn: conn.execute(query).first())
        if row is None:
            raise not_found(asset_id)
        return self.assets.answer(row)

    async def page(self, principal: Principal, query: ListQuery) -> AssetPage:
        return await self.assets.list(principal, query, narrowed=[TRASHED])

    async def purge(self, principal: Principal, asset_ids: Sequence[str]) -> BatchDeleteResult:
        """Delete for good, in the trash or not (the picsha spec's DELETE)."""
        return await self.assets.batch_delete(principal, asset_ids)

    async def purge_expired(self) -> int:
        """Upkeep: delete every asset trashed longer than the keep time ago. Safe in many processes at once: a
        row is deleted by one transaction, and one that another process deleted first is simply not found."""
        a = tables.assets
        cutoff = now() - timedelta(days=self.keep_days)
        purged = 0
        while True:
            query = (sa.select(a.c.account_id, a.c.id).where(a.c.trashed_at < cutoff)
                     .order_by(a.c.trashed_at, a.c.id).limit(PURGE_BATCH))
            rows = (await self.catalog.read(lambda conn: conn.execute(query).all()))
            if not rows:
                return purged
            by_account: dict[str, list[str]] = {}
            for row in rows:
                by_account.setdefault(row.account_id, []).append(row.id)
            for account_id, ids in by_account.items():
                purged += (await self.assets.batch_delete(Principal(account_id=account_id), ids)).deleted
            if len(rows) < PURGE_BATCH:
                return purged
