"""Asset catalog operations, every one scoped by the caller's account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.blobs import BlobReferences
from engine.assets.links import AssetLinks
from engine.assets.models import (
    ANALYSIS_KEY,
    HIDDEN_AI_KEYS,
    Asset,
    AssetPage,
    AssetPatch,
    BatchDeleteResult,
    ContentTypeUsage,
    ListQuery,
    SkillUsage,
    SortOrder,
    UsageStats,
)
from engine.assets.taken import joined, wall_clock
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import NotFound
from engine.events import Event, EventBus, EventType
from engine.storage import BlobStore, derivatives_prefix
from engine.usage import UsageKind, UsageLedger, format_usd

THUMBNAIL_KIND = "thumbnail"
PDF_VIEW_KIND = "pdf_view"  # an office document's PDF rendition, linked as ``urls.pdf_view``


def _answer_columns() -> tuple[Any, ...]:
    """An asset row (its cost included: ``cost_micros``, kept up to date from the ledger by the catalog)
    plus whether its thumbnail and PDF view exist, so one statement reads a whole answer."""
    a, d = tables.assets, tables.derivatives
    has_thumbnail = sa.exists().where(d.c.asset_id == a.c.id, d.c.kind == THUMBNAIL_KIND)
    has_pdf_view = sa.exists().where(d.c.asset_id == a.c.id, d.c.kind == PDF_VIEW_KIND)
    return (a, has_thumbnail.label("has_thumbnail"), has_pdf_view.label("has_pdf_view"))


ANSWER = _answer_columns()
# In the library: not in the trash. Every read outside the trash's own routes sees only these.
LIVE = tables.assets.c.trashed_at.is_(None)
_BY_ID = sa.select(*ANSWER).where(
    tables.assets.c.id == sa.bindparam("asset_id"), tables.assets.c.account_id == sa.bindparam("account_id"), LIVE)


def not_found(asset_id: str) -> NotFound:
    return NotFound(f"No asset {asset_id!r} in this account.", code="asset_not_found", id=asset_id)


@dataclass
class Content:
    """What a download needs: where the bytes are and how to describe them."""

    asset_id: str
    account_id: str
    blob_key: str
    size: int
    content_type: str
    filename: str
    sha256: str
    is_public: bool = False


class AssetService:
    def __init__(self, catalog: Catalog, store: BlobStore, ledger: UsageLedger, links: AssetLinks, events: EventBus):
        self.catalog = catalog
        self.store = store
        self.ledger = ledger
        self.links = links
        self.events = events
        self.blobs = BlobReferences(catalog, store)

    # -- reading -------------------------------------------------------------------------------

    async def _row(self, conn: AsyncConnection, account_id: str, asset_id: str) -> sa.Row:
        a = tables.assets
        row = (await conn.execute(sa.select(a).where(a.c.id == asset_id, a.c.account_id == account_id))).first()
        if row is None:
            raise not_found(asset_id)
        return row

    async def _ids_with(self, conn: AsyncConnection, asset_ids: Sequence[str], kind: str) -> set[str]:
        d = tables.derivatives
        query = sa.select(d.c.asset_id).where(d.c.asset_id.in_(asset_ids), d.c.kind == kind)
        return set((await conn.execute(query)).scalars())

    async def to_models(self, conn: AsyncConnection, rows: Sequence[sa.Row]) -> list[Asset]:
        ids = [row.id for row in rows]
        with_thumbnail = await self._ids_with(conn, ids, THUMBNAIL_KIND) if ids else set()
        with_pdf = await self._ids_with(conn, ids, PDF_VIEW_KIND) if ids else set()
        return [self._model(row, row.id in with_thumbnail, int(row.cost_micros or 0), has_pdf_view=row.id in with_pdf)
                for row in rows]

    def _model(self, row: sa.Row, has_thumbnail: bool, cost_micros: int, *, has_pdf_view: bool = False) -> Asset:
        m = row._mapping  # by key: a few times cheaper per column than a row's attributes
        asset_id, exif, ai, taken_at = m["id"], m["exif"] or {}, m["ai"] or {}, m["taken_at"]
        created_at = utc(m["created_at"])
        # one validation of nested data (pydantic's core builds every part), not one per part
        return Asset.model_validate({
            "id": asset_id,
            "status": m["status"],
            "type": m["type"],
            "filename": m["filename"],
            "created_at": created_at,
            # a row an older version wrote during an upgrade has no taken time: its upload time is the best known
            "taken_at": joined(utc(taken_at), m["taken_offset"]) if taken_at else created_at,
            "updated_at": utc(m["updated_at"]),
            "urls": self.links.for_asset(asset_id, has_thumbnail=has_thumbnail, has_pdf_view=has_pdf_view),
            "meta": {
                "format": m["format"], "content_type": m["content_type"], "size": m["size"], "width": m["width"],
                "height": m["height"], "pages": exif.get("pages"), "sha256": m["sha256"],
                "exif": {k: v for k, v in exif.items() if k != "pages"} if "pages" in exif else exif,
            },
            "ai": {k: v for k, v in ai.items() if k not in HIDDEN_AI_KEYS},
            "analysis": ai.get(ANALYSIS_KEY, {}),
            "location": m["location"] or None,
            "tags": m["tags"] or [],
            "metadata": m["metadata"] or {},
            "description": m["description"],
            "alt_text": m["alt_text"],
            "is_public": m["is_public"],
            "cost": format_usd(cost_micros),
            "folder_id": m["folder_id"],
            "version": m["version"],
            "trashed_at": utc(m["trashed_at"]),
        })

    def _answer(self, row: sa.Row) -> Asset:
        """The model of a row read with ``ANSWER``'s columns."""
        m = row._mapping
        return self._model(row, bool(m["has_thumbnail"]), int(m["cost_micros"] or 0), has_pdf_view=bool(m["has_pdf_view"]))

    async def get(self, principal: Principal, asset_id: str) -> Asset:
        params = {"asset_id": asset_id, "account_id": principal.account_id}
        row = await self.catalog.lookup(lambda conn: conn.execute(_BY_ID, params).first())
        if row is None:
            raise not_found(asset_id)
        return self._answer(row)

    async def get_many(self, principal: Principal, asset_ids: Sequence[str]) -> list[Asset]:
        """The caller's assets among ``asset_ids``, in that order, in one query (others are left out)."""
        if not asset_ids:
            return []
        a = tables.assets
        query = sa.select(*ANSWER).where(a.c.id.in_(list(asset_ids)), a.c.account_id == principal.account_id, LIVE)
        rows = await self.catalog.read(lambda conn: conn.execute(query).all())
        found = {row.id: self._answer(row) for row in rows}
        return [found[asset_id] for asset_id in asset_ids if asset_id in found]

    async def list(self, principal: Principal, query: ListQuery, *, narrowed: Sequence[Any] = ()) -> AssetPage:
        """A page of the library; ``narrowed``: more conditions on the assets table (the library's folder,
        collection, trash and colour filters)."""
        a = tables.assets
        where: list[Any] = [a.c.account_id == principal.account_id, *(narrowed or [LIVE])]
        if query.q:
            pattern = f"%{query.q.lower()}%"
            where.append(sa.or_(*(sa.func.lower(col).like(pattern) for col in (a.c.filename, a.c.description, a.c.alt_text))))
        if query.type:
            where.append(a.c.type == query.type.value)
        if query.status:
            where.append(a.c.status == query.status.value)
        if query.taken_after:  # stored taken times are wall clocks, and so are the bounds
            where.append(a.c.taken_at >= wall_clock(query.taken_after))
        if query.taken_before:
            where.append(a.c.taken_at < wall_clock(query.taken_before))
        sort_column = a.c[query.sort.value]
        ordering = sort_column.asc() if query.order is SortOrder.ASC else sort_column.desc()
        select = (
            sa.select(*ANSWER).where(*where).order_by(ordering, a.c.id)
            .limit(query.page_size).offset((query.page - 1) * query.page_size)
        )
        counting = sa.select(sa.func.count()).select_from(a).where(*where)

        def read(conn: sa.Connection) -> tuple[int, list[sa.Row]]:
            return conn.scalar(counting) or 0, conn.execute(select).all()

        kind = ("assets.list", principal.account_id, bool(query.q), bool(narrowed), query.sort.value, query.page // 10)
        total, rows = await self.catalog.read(read, kind=kind)
        items = [self._answer(row) for row in rows]
        return AssetPage(items=items, total=total, page=query.page, page_size=query.page_size)

    def answer(self, row: sa.Row) -> Asset:
        """The model of a row read with ``ANSWER``'s columns (for the library's own queries)."""
        return self._answer(row)

    async def usage_stats(self, principal: Principal) -> UsageStats:
        a, d, u = tables.assets, tables.derivatives, tables.usage_events
        mine = a.c.account_id == principal.account_id
        step = u.c.detail["step"].as_string()
        skills = (sa.select(step, sa.func.count().label("runs"))
                  .where(u.c.account_id == principal.account_id, u.c.kind == UsageKind.AI_OPERATION.value, step.is_not(None))
                  .group_by(step).order_by(sa.desc("runs"), step).limit(1))
        async with self.catalog.connect() as conn:
            count, total = (await conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(a.c.size), 0)).where(mine))).one()
            by_type = dict((await conn.execute(sa.select(a.c.type, sa.func.count()).where(mine).group_by(a.c.type))).all())
            by_status = dict((await conn.execute(sa.select(a.c.status, sa.func.count()).where(mine).group_by(a.c.status))).all())
            by_content_type = (await conn.execute(
                sa.select(a.c.content_type, sa.func.count().label("n"), sa.func.coalesce(sa.func.sum(a.c.size), 0))
                .where(mine).group_by(a.c.content_type).order_by(sa.desc("n"), a.c.content_type))).all()
            derivatives, derivative_bytes = (await conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(d.c.size), 0))
                .where(d.c.account_id == principal.account_id))).one()
            top = (await conn.execute(skills)).first()
        return UsageStats(
            total_assets=count, total_bytes=int(total), by_type=by_type, by_status=by_status,
            total_derivatives=int(derivatives), derivative_bytes=int(derivative_bytes),
            by_content_type=[ContentTypeUsage(content_type=ct, count=n, total_bytes=int(b)) for ct, n, b in by_content_type],
            most_active_skill=SkillUsage(skill_name=top[0], run_count=int(top[1])) if top else None,
        )

    # -- writing -------------------------------------------------------------------------------

    async def update(self, principal: Principal, asset_id: str, patch: AssetPatch) -> Asset:
        changes = patch.model_dump(exclude_unset=True)
        a = tables.assets
        async with self.catalog.begin() as conn:
            if (await self._row(conn, principal.account_id, asset_id)).trashed_at is not None:
                raise not_found(asset_id)
            if changes:
                await conn.execute(
                    a.update().where(a.c.id == asset_id, a.c.account_id == principal.account_id)
                    .values(**changes, updated_at=now())
                )
        await self.events.publish(Event(type=EventType.ASSET_UPDATED, account_id=principal.account_id,
                                        data={"asset_id": asset_id, "fields": sorted(changes)}))
        return await self.get(principal, asset_id)

    async def delete(self, principal: Principal, asset_id: str) -> Asset:
        before = await self.get(principal, asset_id)
        deleted = await self._delete_many(principal, [asset_id])
        if not deleted:
            raise not_found(asset_id)
        return before

    async def batch_delete(self, principal: Principal, asset_ids: Sequence[str]) -> BatchDeleteResult:
        unique = list(dict.fromkeys(asset_ids))
        deleted = await self._delete_many(principal, unique)
        return BatchDeleteResult(
            requested=len(asset_ids), deleted=len(deleted), not_found_ids=[i for i in unique if i not in deleted]
        )

    async def _delete_many(self, principal: Principal, asset_ids: Sequence[str]) -> set[str]:
        """Rows go in one transaction that also marks their blobs due (earlier versions' too); then the blobs
        nobody holds go."""
        a, d, v, c = tables.assets, tables.derivatives, tables.asset_versions, tables.collection_assets
        async with self.catalog.begin() as conn:
            rows = (await conn.execute(
                sa.select(a.c.id, a.c.sha256, a.c.blob_key, a.c.size)
                .where(a.c.id.in_(asset_ids), a.c.account_id == principal.account_id)
            )).all()
            ids = [row.id for row in rows]
            earlier = (await conn.execute(sa.select(v.c.sha256, v.c.blob_key, v.c.size).where(v.c.asset_id.in_(ids)))).all()
            for table in (d, v, c):
                await conn.execute(table.delete().where(table.c.asset_id.in_(ids)))
            await conn.execute(a.delete().where(a.c.id.in_(ids)))
            released = {row.sha256: row.blob_key for row in [*earlier, *rows]}
            # blobs, then the storage meter: the order an ingest's transaction takes them in (no deadlock)
            await self.blobs.release(conn, released)
            # every version's bytes were metered as they arrived: all of them stop now
            await self.ledger.released(conn, principal.account_id, sum(int(row.size) for row in [*earlier, *rows]))
        await self.events.publish(*(Event(type=EventType.ASSET_DELETED, account_id=principal.account_id,
                                          data={"asset_id": asset_id}) for asset_id in ids))
        for asset_id in ids:
            await self.store.delete_prefix(derivatives_prefix(asset_id))
        await self.blobs.collect(released)
        return set(ids)

    # -- delivering ----------------------------------------------------------------------------

    async def content(self, asset_id: str, principal: Principal | None) -> Content:
        """The original's location; ``principal=None`` only after a signed URL was verified."""
        a = tables.assets
        where = [a.c.id == asset_id, LIVE] + ([a.c.account_id == principal.account_id] if principal else [])
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(a).where(*where))).first()
        if row is None:
            raise not_found(asset_id)
        return Content(
            asset_id=row.id, account_id=row.account_id, blob_key=row.blob_key, size=row.size,
            content_type=row.content_type, filename=row.filename, sha256=row.sha256,
            is_public=row.is_public,
        )

    async def stream(self, content: Content, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes and write the delivered amount to the usage ledger."""
        last = content.size - 1 if end is None else end
        await self.ledger.record(
            account_id=content.account_id, asset_id=content.asset_id, kind=UsageKind.BANDWIDTH,
            quantity=max(0, last - start + 1),
        )
        async for chunk in self.store.read(content.blob_key, start, last):
            yield chunk
