"""Catalog rows of uploads: every query is scoped by account, and writers hold a lease on the row.

The lease (a token and an expiry in the row) is what keeps two PATCHes from writing one upload at once,
across requests, worker processes and servers sharing the catalog; a crashed writer's lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.uploads.models import UNFINISHED, ConcatKind, Upload, UploadError, UploadStatus

u = tables.uploads
Row = dict[str, Any]


def to_model(row: Row) -> Upload:
    error = row.get("error")
    return Upload(
        id=row["id"], status=UploadStatus(row["status"]), offset=row["offset"], length=row["length"],
        filename=(row.get("metadata") or {}).get("filename"),
        concat=ConcatKind(row["concat"]) if row.get("concat") else None, asset_id=row.get("asset_id"),
        error=UploadError.model_validate(error) if error else None, expires_at=utc(row.get("expires_at")),
        created_at=utc(row["created_at"]), updated_at=utc(row["updated_at"]),
        metadata_header=row.get("metadata_header"), parts=row.get("parts"),
    )


def _free(token: str) -> sa.ColumnElement[bool]:
    """No live lease on the row, or it is ``token``'s own."""
    return sa.or_(u.c.lease_until.is_(None), u.c.lease_until < now(), u.c.lease == token)


def _until(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


class UploadRecords:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    async def insert(self, row: Row) -> None:
        async with self.catalog.begin() as conn:
            await conn.execute(u.insert().values(**row))

    async def fetch(self, account_id: str, upload_id: str) -> Row | None:
        async with self.catalog.connect() as conn:
            found = await conn.execute(sa.select(u).where(u.c.id == upload_id, u.c.account_id == account_id))
            row = found.mappings().first()
        return dict(row) if row else None

    async def count_unfinished(self, account_id: str) -> int:
        query = sa.select(sa.func.count()).select_from(u).where(
            u.c.account_id == account_id, u.c.status.in_([s.value for s in UNFINISHED])
        )
        async with self.catalog.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def take_lease(self, upload_id: str, token: str, seconds: float) -> bool:
        query = u.update().where(u.c.id == upload_id, _free(token)).values(lease=token, lease_until=_until(seconds))
        async with self.catalog.begin() as conn:
            return (await conn.execute(query)).rowcount == 1

    async def renew_lease(self, upload_id: str, token: str, seconds: float) -> bool:
        """Extend ``token``'s lease; False once another writer holds the row (a lapsed lease nobody took is
        still ours: no one else wrote)."""
        query = u.update().where(u.c.id == upload_id, u.c.lease == token).values(lease_until=_until(seconds))
        async with self.catalog.begin() as conn:
            return (await conn.execute(query)).rowcount == 1

    async def lease_for_append(
        self, account_id: str, upload_id: str, offset: int, token: str, seconds: float
    ) -> Row | None:
        """Take the lease and read the row in one statement, when a PATCH at ``offset`` can go ahead.

        Only an upload of this account that is receiving bytes, not expired, not a final concatenation,
        at exactly this offset and free of other writers matches; for anything else (None) the caller
        reads the row to give the precise refusal.
        """
        live = sa.or_(u.c.expires_at.is_(None), u.c.expires_at >= now())
        query = (
            u.update()
            .where(
                u.c.id == upload_id, u.c.account_id == account_id, u.c.status == UploadStatus.UPLOADING.value,
                u.c.offset == offset, sa.or_(u.c.concat.is_(None), u.c.concat != ConcatKind.FINAL.value), live,
                _free(token),
            )
            .values(lease=token, lease_until=_until(seconds))
            .returning(*u.c)
        )
        async with self.catalog.begin() as conn:
            row = (await conn.execute(query)).mappings().first()
        return dict(row) if row else None

    async def release(self, upload_id: str, token: str, **changes: Any) -> bool:
        """Write ``changes`` and drop the lease in one statement, only while the lease is still ours (False:
        another writer holds it and nothing was written).

        Without changes only the lease goes: a refused or repeated PATCH leaves ``updated_at`` alone.
        """
        values: Row = {"lease": None, "lease_until": None}
        if changes:
            values |= {"updated_at": now(), **changes}
        query = u.update().where(u.c.id == upload_id, u.c.lease == token)
        async with self.catalog.begin() as conn:
            return (await conn.execute(query.values(**values))).rowcount == 1

    async def update_held(self, upload_id: str, token: str, **changes: Any) -> bool:
        """``update`` only while the lease is still ``token``'s; False (nothing written) otherwise."""
        query = u.update().where(u.c.id == upload_id, u.c.lease == token).values(updated_at=now(), **changes)
        async with self.catalog.begin() as conn:
            return (await conn.execute(query)).rowcount == 1

    async def update(self, upload_id: str, **changes: Any) -> None:
        async with self.catalog.begin() as conn:
            await conn.execute(u.update().where(u.c.id == upload_id).values(updated_at=now(), **changes))

    async def delete(self, upload_id: str) -> None:
        async with self.catalog.begin() as conn:
            await conn.execute(u.delete().where(u.c.id == upload_id))

    async def expired(self, when: datetime, limit: int = 100) -> list[Row]:
        """Rows past their expiry that no live writer holds."""
        idle = sa.or_(u.c.lease_until.is_(None), u.c.lease_until < when)
        query = sa.select(u).where(u.c.expires_at < when, idle).limit(limit)
        async with self.catalog.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def stalled(self, when: datetime, limit: int = 20) -> list[Row]:
        """Uploads whose ingest was cut off by a crash (status processing, lease run out)."""
        query = sa.select(u).where(
            u.c.status == UploadStatus.PROCESSING.value, sa.or_(u.c.lease_until.is_(None), u.c.lease_until < when)
        ).limit(limit)
        async with self.catalog.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]
