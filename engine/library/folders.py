"""Folders: a tree per account; an asset is in at most one (``assets.folder_id``; none: the top level)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import Conflict, NotFound
from engine.events import Event, EventBus, EventType
from engine.ids import IdPrefix, new_id
from engine.library.models import ROOT, Folder, FolderCreate, FolderList, FolderPatch

MAX_DEPTH = 32


def folder_not_found(folder_id: str) -> NotFound:
    return NotFound(f"No folder {folder_id!r} in this account (GET /v1/folders lists them).", code="folder_not_found",
                    id=folder_id)


class Folders:
    def __init__(self, catalog: Catalog, events: EventBus):
        self.catalog = catalog
        self.events = events

    async def list(self, principal: Principal) -> FolderList:
        f, a = tables.folders, tables.assets
        counts = (sa.select(a.c.folder_id, sa.func.count().label("n"))
                  .where(a.c.account_id == principal.account_id, a.c.folder_id.is_not(None), a.c.trashed_at.is_(None))
                  .group_by(a.c.folder_id).subquery())
        query = (sa.select(f, sa.func.coalesce(counts.c.n, 0).label("asset_count"))
                 .select_from(f.outerjoin(counts, counts.c.folder_id == f.c.id))
                 .where(f.c.account_id == principal.account_id))
        rows = await self.catalog.read(lambda conn: conn.execute(query).all())
        by_id = {row.id: row for row in rows}

        def path(row: Any) -> str:
            names, seen = [], set()
            while row is not None and row.id not in seen and len(names) < MAX_DEPTH:
                seen.add(row.id)
                names.append(row.name)
                row = by_id.get(row.parent_id)
            return "/".join(reversed(names))

        items = [Folder(id=row.id, name=row.name, parent_id=row.parent_id, path=path(row),
                        asset_count=row.asset_count, created_at=utc(row.created_at)) for row in rows]
        return FolderList(items=sorted(items, key=lambda folder: (folder.path.lower(), folder.id)))

    async def get(self, principal: Principal, folder_id: str) -> Folder:
        found = next((f for f in (await self.list(principal)).items if f.id == folder_id), None)
        if found is None:
            raise folder_not_found(folder_id)
        return found

    async def create(self, principal: Principal, given: FolderCreate) -> Folder:
        folder_id = new_id(IdPrefix.FOLDER)
        async with self.catalog.begin() as conn:
            if given.parent_id is not None:
                await self.check(conn, principal, given.parent_id)
            await conn.execute(tables.folders.insert().values(
                id=folder_id, account_id=principal.account_id, name=given.name, parent_id=given.parent_id,
                created_at=now()))
        return await self.get(principal, folder_id)

    async def update(self, principal: Principal, folder_id: str, patch: FolderPatch) -> Folder:
        f = tables.folders
        changes = patch.model_dump(exclude_unset=True)
        if "name" in changes and changes["name"] is None:
            del changes["name"]
        async with self.catalog.begin() as conn:
            await self.check(conn, principal, folder_id)
            parent = changes.get("parent_id")
            if parent is not None:
                await self.check(conn, principal, parent)
                if folder_id in await self._ancestors(conn, parent):
                    raise Conflict(f"Folder {parent!r} is {folder_id!r} or inside it: a folder cannot move into "
                                   "itself.", code="folder_cycle", id=folder_id, parent_id=parent)
            if changes:
                await conn.execute(f.update().where(f.c.id == folder_id).values(**changes))
        return await self.get(principal, folder_id)

    async def delete(self, principal: Principal, folder_id: str) -> None:
        """Its assets and sub-folders move up to its parent (or the top level)."""
        f, a = tables.folders, tables.assets
        async with self.catalog.begin() as conn:
            parent = (await self.check(conn, principal, folder_id)).parent_id
            moved = list((await conn.execute(sa.select(a.c.id).where(
                a.c.folder_id == folder_id, a.c.account_id == principal.account_id))).scalars())
            await conn.execute(a.update().where(a.c.folder_id == folder_id, a.c.account_id == principal.account_id)
                               .values(folder_id=parent))
            await conn.execute(f.update().where(f.c.parent_id == folder_id).values(parent_id=parent))
            await conn.execute(f.delete().where(f.c.id == folder_id))
        await self._moved(principal, moved)

    async def move(self, principal: Principal, asset_ids: Sequence[str], folder_id: str | None) -> list[str]:
        """Put the caller's assets among ``asset_ids`` into ``folder_id`` (none or 'root': the top level)."""
        a = tables.assets
        target = None if folder_id in (None, ROOT) else folder_id
        mine = [a.c.id.in_(list(asset_ids)), a.c.account_id == principal.account_id]
        async with self.catalog.begin() as conn:
            if target is not None:
                await self.check(conn, principal, target)
            found = set((await conn.execute(sa.select(a.c.id).where(*mine))).scalars())
            ids = list(dict.fromkeys(i for i in asset_ids if i in found))  # in the order asked
            await conn.execute(a.update().where(*mine).values(folder_id=target, updated_at=now()))
        await self._moved(principal, ids)
        return ids

    async def _moved(self, principal: Principal, asset_ids: list[str]) -> None:
        await self.events.publish(*(Event(type=EventType.ASSET_UPDATED, account_id=principal.account_id,
                                          data={"asset_id": i, "fields": ["folder_id"]}) for i in asset_ids))

    async def check(self, conn: AsyncConnection, principal: Principal, folder_id: str) -> sa.Row:
        f = tables.folders
        row = (await conn.execute(sa.select(f).where(f.c.id == folder_id, f.c.account_id == principal.account_id))).first()
        if row is None:
            raise folder_not_found(folder_id)
        return row

    async def _ancestors(self, conn: AsyncConnection, folder_id: str) -> set[str]:
        """The folder and every folder above it."""
        f = tables.folders
        found: set[str] = set()
        current: str | None = folder_id
        while current is not None and current not in found and len(found) < 10_000:
            found.add(current)
            current = await conn.scalar(sa.select(f.c.parent_id).where(f.c.id == current))
        return found
