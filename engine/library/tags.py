"""Adding and removing tags without replacing an asset's list (two editors never undo each other)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa

from engine.assets.models import Asset
from engine.assets.service import AssetService, not_found
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.errors import InvalidInput
from engine.events import Event, EventBus, EventType
from engine.library.models import MAX_TAGS

LIVE = tables.assets.c.trashed_at.is_(None)


def _added(current: list[str], tags: Sequence[str]) -> list[str]:
    """``current`` then each new tag not already there (compared without case)."""
    seen = {t.lower() for t in current}
    result = list(current)
    for tag in tags:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            result.append(tag)
    return result


def _removed(current: list[str], tags: Sequence[str]) -> list[str]:
    gone = {t.lower() for t in tags}
    return [t for t in current if t.lower() not in gone]


class Tags:
    def __init__(self, catalog: Catalog, assets: AssetService, events: EventBus):
        self.catalog = catalog
        self.assets = assets
        self.events = events

    async def add(self, principal: Principal, asset_ids: Sequence[str], tags: Sequence[str]) -> list[str]:
        """Add ``tags`` to the caller's live assets among ``asset_ids``; return the ids changed or already
        carrying them. An asset that would pass the tag limit is refused as a whole (400 when it is the only one)."""
        return await self._edit(principal, asset_ids, lambda current: _added(current, tags))

    async def remove(self, principal: Principal, asset_ids: Sequence[str], tags: Sequence[str]) -> list[str]:
        return await self._edit(principal, asset_ids, lambda current: _removed(current, tags))

    async def _edit(self, principal: Principal, asset_ids: Sequence[str],
                    change: Callable[[list[str]], list[str]]) -> list[str]:
        a = tables.assets
        unique = list(dict.fromkeys(asset_ids))
        done: list[str] = []
        changed: list[str] = []
        too_many: list[str] = []
        async with self.catalog.begin() as conn:
            rows = (await conn.execute(sa.select(a.c.id, a.c.tags).where(
                a.c.id.in_(unique), a.c.account_id == principal.account_id, LIVE))).all()
            stamp = now()
            for row in rows:
                current = list(row.tags or [])
                new = change(current)
                if len(new) > MAX_TAGS:
                    too_many.append(row.id)
                    continue
                done.append(row.id)
                if new != current:
                    changed.append(row.id)
                    await conn.execute(a.update().where(a.c.id == row.id).values(tags=new, updated_at=stamp))
        await self.events.publish(*(Event(type=EventType.ASSET_UPDATED, account_id=principal.account_id,
                                          data={"asset_id": i, "fields": ["tags"]}) for i in changed))
        if too_many and not done and len(unique) == 1:
            raise InvalidInput(f"An asset carries at most {MAX_TAGS} tags; remove some first.", code="too_many_tags",
                               id=too_many[0])
        return [i for i in unique if i in set(done)]

    async def add_one(self, principal: Principal, asset_id: str, tags: Sequence[str]) -> Asset:
        if not await self.add(principal, [asset_id], tags):
            raise not_found(asset_id)
        return await self.assets.get(principal, asset_id)

    async def remove_one(self, principal: Principal, asset_id: str, tag: str) -> Asset:
        if not await self.remove(principal, [asset_id], [tag]):
            raise not_found(asset_id)
        return await self.assets.get(principal, asset_id)
