"""Collections: named, ordered sets of assets; an asset may be in many. Order is a fractional ``position``,
so inserting between two assets writes only the inserted rows."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import NotFound
from engine.ids import IdPrefix, new_id
from engine.library.models import (
    Collection,
    CollectionCreate,
    CollectionDetail,
    CollectionList,
    CollectionPatch,
)

LIVE = tables.assets.c.trashed_at.is_(None)
SPACING = 1024.0
MIN_STEP = 1e-6


def collection_not_found(collection_id: str) -> NotFound:
    return NotFound(f"No collection {collection_id!r} in this account (GET /v1/collections lists them).",
                    code="collection_not_found", id=collection_id)


class Collections:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def _summary(self, account_id: str) -> sa.Select:
        c, m, a = tables.collections, tables.collection_assets, tables.assets
        live = sa.select(m.c.collection_id, m.c.asset_id, m.c.position).join(a, a.c.id == m.c.asset_id).where(LIVE)
        live = live.subquery()
        count = (sa.select(sa.func.count()).where(live.c.collection_id == c.c.id)).scalar_subquery()
        cover = (sa.select(live.c.asset_id).where(live.c.collection_id == c.c.id)
                 .order_by(live.c.position, live.c.asset_id).limit(1)).scalar_subquery()
        return (sa.select(c, count.label("asset_count"), cover.label("cover_asset_id"))
                .where(c.c.account_id == account_id).order_by(c.c.name, c.c.id))

    @staticmethod
    def _model(row: sa.Row) -> Collection:
        return Collection(id=row.id, name=row.name, description=row.description, asset_count=row.asset_count or 0,
                          cover_asset_id=row.cover_asset_id, created_at=utc(row.created_at),
                          updated_at=utc(row.updated_at))

    async def list(self, principal: Principal) -> CollectionList:
        query = self._summary(principal.account_id)
        rows = await self.catalog.read(lambda conn: conn.execute(query).all())
        return CollectionList(items=[self._model(row) for row in rows])

    async def get(self, principal: Principal, collection_id: str) -> CollectionDetail:
        c, m, a = tables.collections, tables.collection_assets, tables.assets
        query = self._summary(principal.account_id).where(c.c.id == collection_id)
        ids = (sa.select(m.c.asset_id).join(a, a.c.id == m.c.asset_id)
               .where(m.c.collection_id == collection_id, LIVE).order_by(m.c.position, m.c.asset_id))

        def read(conn: sa.Connection) -> tuple[sa.Row | None, list[str]]:
            return conn.execute(query).first(), list(conn.execute(ids).scalars())

        row, asset_ids = await self.catalog.read(read)
        if row is None:
            raise collection_not_found(collection_id)
        return CollectionDetail(**self._model(row).model_dump(), asset_ids=asset_ids)

    async def create(self, principal: Principal, given: CollectionCreate) -> CollectionDetail:
        collection_id, stamp = new_id(IdPrefix.COLLECTION), now()
        async with self.catalog.begin() as conn:
            await conn.execute(tables.collections.insert().values(
                id=collection_id, account_id=principal.account_id, name=given.name, description=given.description,
                created_at=stamp, updated_at=stamp))
        return await self.get(principal, collection_id)

    async def update(self, principal: Principal, collection_id: str, patch: CollectionPatch) -> CollectionDetail:
        c = tables.collections
        changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if k != "name" or v is not None}
        async with self.catalog.begin() as conn:
            await self.check(conn, principal, collection_id)
            await conn.execute(c.update().where(c.c.id == collection_id).values(**changes, updated_at=now()))
        return await self.get(principal, collection_id)

    async def delete(self, principal: Principal, collection_id: str) -> None:
        """The collection goes; its assets stay in the library."""
        c, m = tables.collections, tables.collection_assets
        async with self.catalog.begin() as conn:
            await self.check(conn, principal, collection_id)
            await conn.execute(m.delete().where(m.c.collection_id == collection_id))
            await conn.execute(c.delete().where(c.c.id == collection_id))

    async def add(self, principal: Principal, collection_id: str, asset_ids: Sequence[str],
                  position: int | None = None) -> list[str]:
        """Put the caller's live assets among ``asset_ids`` into the collection, in the order given, before the
        asset at ``position`` (none: at the end). One already in it moves there. Return those added."""
        c, m, a = tables.collections, tables.collection_assets, tables.assets
        unique = list(dict.fromkeys(asset_ids))
        async with self.catalog.begin() as conn:
            await self.check(conn, principal, collection_id)
            mine = set((await conn.execute(sa.select(a.c.id).where(
                a.c.id.in_(unique), a.c.account_id == principal.account_id, LIVE))).scalars())
            ids = [i for i in unique if i in mine]
            await conn.execute(m.delete().where(m.c.collection_id == collection_id, m.c.asset_id.in_(ids)))
            order = await self._positions(conn, collection_id)
            low, high = _gap(order, position)
            if (high - low) / (len(ids) + 1) < MIN_STEP:  # halved too often at one spot: spread them out again
                order = await self._renumber(conn, collection_id)
                low, high = _gap(order, position)
            step = (high - low) / (len(ids) + 1)
            if ids:
                await conn.execute(m.insert(), [{"collection_id": collection_id, "asset_id": i,
                                                 "position": low + step * (n + 1)} for n, i in enumerate(ids)])
            await conn.execute(c.update().where(c.c.id == collection_id).values(updated_at=now()))
        return ids

    async def _positions(self, conn: AsyncConnection, collection_id: str) -> list[float]:
        m = tables.collection_assets
        return list((await conn.execute(sa.select(m.c.position).where(m.c.collection_id == collection_id)
                                        .order_by(m.c.position, m.c.asset_id))).scalars())

    async def _renumber(self, conn: AsyncConnection, collection_id: str) -> list[float]:
        m = tables.collection_assets
        ids = list((await conn.execute(sa.select(m.c.asset_id).where(m.c.collection_id == collection_id)
                                       .order_by(m.c.position, m.c.asset_id))).scalars())
        for n, asset_id in enumerate(ids):
            await conn.execute(m.update().where(m.c.collection_id == collection_id, m.c.asset_id == asset_id)
                               .values(position=SPACING * (n + 1)))
        return [SPACING * (n + 1) for n in range(len(ids))]

    async def remove(self, principal: Principal, collection_id: str, asset_id: str) -> None:
        c, m = tables.collections, tables.collection_assets
        async with self.catalog.begin() as conn:
            await self.check(conn, principal, collection_id)
            gone = await conn.execute(m.delete().where(m.c.collection_id == collection_id, m.c.asset_id == asset_id))
            if not gone.rowcount:
                raise NotFound(f"Asset {asset_id!r} is not in collection {collection_id!r}.",
                               code="asset_not_in_collection", id=asset_id)
            await conn.execute(c.update().where(c.c.id == collection_id).values(updated_at=now()))

    async def check(self, conn: AsyncConnection, principal: Principal, collection_id: str) -> None:
        c = tables.collections
        found = await conn.scalar(sa.select(c.c.id).where(c.c.id == collection_id,
                                                          c.c.account_id == principal.account_id))
        if found is None:
            raise collection_not_found(collection_id)


def _gap(order: list[float], position: int | None) -> tuple[float, float]:
    """The open interval new positions go in: before the item at ``position``, or after the last."""
    if position is None or position >= len(order):
        last = order[-1] if order else 0.0
        return last, last + SPACING
    before = order[position - 1] if position > 0 else order[0] - SPACING
    return before, order[position]
