"""File versions (spec 001's file library): replacing an asset's file, or restoring an earlier one, keeps the
file it had as a numbered version. The asset row is always the current version; ``asset_versions`` holds the
earlier ones, each holding its blob (engine.assets.blobs), so a purge frees them all and nothing sooner.

Derivatives, the thumbnail, the analyses and the search index follow the current version: a new version drops
the old derivatives (rows, then their bytes), stores the new previews and runs the analyses again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.assets.models import ANALYSIS_KEY, Analysis, Asset, AssetStatus, IngestConfig, IngestOptions
from engine.assets.service import LIVE, AssetService, not_found
from engine.assets.taken import taken_from
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import NotFound
from engine.events import Event, EventBus, EventType
from engine.ingest import IngestService
from engine.ingest.staging import StagedFile, stage
from engine.library.models import Version, VersionList
from engine.storage import BlobStore, derivatives_prefix, original_key
from engine.usage import UsageKind

FILE_COLUMNS = ("sha256", "blob_key", "size", "content_type", "format", "width", "height", "filename")


class Versions:
    def __init__(self, *, catalog: Catalog, store: BlobStore, assets: AssetService, ingest: IngestService,
                 events: EventBus, grace_s: float):
        self.catalog = catalog
        self.store = store
        self.assets = assets
        self.ingest = ingest
        self.events = events
        self.grace_s = grace_s

    async def list(self, principal: Principal, asset_id: str) -> VersionList:
        a, v = tables.assets, tables.asset_versions
        current_q = sa.select(a).where(a.c.id == asset_id, a.c.account_id == principal.account_id, LIVE)
        earlier_q = sa.select(v).where(v.c.asset_id == asset_id).order_by(v.c.version.desc())

        def read(conn: sa.Connection) -> tuple[sa.Row | None, list[sa.Row]]:
            return conn.execute(current_q).first(), conn.execute(earlier_q).all()

        current, earlier = await self.catalog.read(read)
        if current is None:
            raise not_found(asset_id)
        items = [_version(current, current.version, current.updated_at, current=True)]
        items += [_version(row, row.version, row.created_at, current=False) for row in earlier]
        return VersionList(items=items)

    async def replace(self, principal: Principal, asset_id: str, staged: StagedFile, filename: str) -> Asset:
        """A new current file; the one it had becomes a version. Bad files are refused before anything changes."""
        try:
            await self.assets.get(principal, asset_id)  # 404 before any work
            kind, info, previews = await self.ingest.examine(staged.path, filename, ascii_text=staged.ascii_text)
            exif = dict(info.exif) | ({"pages": info.pages} if info.pages else {})
            taken_at, taken_offset = taken_from(exif, staged.modified_at or now())
            file = dict(sha256=staged.sha256, blob_key=original_key(staged.sha256), size=staged.size,
                        content_type=kind.content_type, format=kind.format, width=info.width, height=info.height,
                        filename=filename, type=kind.type.value, exif=exif, taken_at=taken_at, taken_offset=taken_offset)
            hold = await self.assets.blobs.hold(staged.sha256, file["blob_key"], grace_s=self.grace_s)
            await self.store.put_file(file["blob_key"], staged.path)
            return await self._switch(principal, asset_id, file, previews, hold=hold, stored=staged.size)
        finally:
            staged.discard()

    async def replace_bytes(self, principal: Principal, asset_id: str, data: bytes, filename: str) -> Asset:
        """A tool's result saved onto an asset as its new version."""
        async def chunks() -> AsyncIterator[bytes]:
            yield data

        staged = await stage(chunks(), self.ingest.work_dir, max_bytes=self.ingest.settings.max_bytes)
        return await self.replace(principal, asset_id, staged, filename)

    async def restore(self, principal: Principal, asset_id: str, version: int) -> Asset:
        """Make version ``version``'s file current again, as a new version (history is never rewritten)."""
        v = tables.asset_versions
        current = await self.assets.get(principal, asset_id)
        if version == current.version:
            return current
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(v).where(v.c.asset_id == asset_id, v.c.version == version))).first()
        if row is None:
            raise NotFound(f"Asset {asset_id!r} has no version {version} (GET /v1/assets/{asset_id}/versions lists "
                           "them).", code="version_not_found", id=asset_id, version=version)
        async with self.store.local_path(row.blob_key) as path:
            kind, info, previews = await self.ingest.examine(Path(path), row.filename)
        exif = dict(info.exif) | ({"pages": info.pages} if info.pages else {})
        taken_at, taken_offset = taken_from(exif, utc(row.created_at))
        file = {name: getattr(row, name) for name in FILE_COLUMNS} | dict(
            type=kind.type.value, exif=exif, taken_at=taken_at, taken_offset=taken_offset)
        return await self._switch(principal, asset_id, file, previews, hold=None, stored=0)

    async def _switch(self, principal: Principal, asset_id: str, file: dict[str, Any], previews: list[Any], *,
                      hold: Any, stored: int) -> Asset:
        """One transaction: the current file becomes a version row, the asset takes ``file``, its derivative rows
        go and its analyses are scheduled again. Then the old derivatives' bytes go and the new previews come."""
        a, v, d = tables.assets, tables.asset_versions, tables.derivatives
        mine = [a.c.id == asset_id, a.c.account_id == principal.account_id, LIVE]
        stamp = now()
        async with self.catalog.begin() as conn:
            row = (await conn.execute(sa.select(a).where(*mine).with_for_update())).first()
            if row is None:
                raise not_found(asset_id)
            await conn.execute(v.insert().values(asset_id=asset_id, version=row.version, created_at=utc(row.updated_at),
                                                 **{name: getattr(row, name) for name in FILE_COLUMNS}))
            options = IngestOptions(config=IngestConfig(**(row.config or {})))
            skills = self.ingest.analysis.plan(options, file["type"])
            outcome = Analysis(pending=skills, skipped=self.ingest.analysis.not_planned(options, file["type"], skills))
            status = AssetStatus.PROCESSING if skills else AssetStatus.READY
            await conn.execute(a.update().where(*mine).values(
                **file, version=row.version + 1, status=status.value, updated_at=stamp,
                ai={ANALYSIS_KEY: outcome.model_dump(exclude_defaults=True)}))
            await conn.execute(d.delete().where(d.c.asset_id == asset_id))
            if hold is not None:
                await self.assets.blobs.release_hold(conn, hold)
            if stored:
                await self.ingest.ledger.record(account_id=principal.account_id, asset_id=asset_id,
                                                kind=UsageKind.STORAGE, quantity=stored, conn=conn)
            job_id = None
            conversions = self.ingest.conversions
            converts = conversions is not None and conversions.converts(file["format"])
            if skills or converts:  # an office file's job makes its PDF view first, then runs the analyses
                job_id = await self.ingest.analysis.schedule(
                    conn, account_id=principal.account_id, asset_id=asset_id, skills=skills, options=options,
                    kind=conversions.job_kind_name if converts and conversions else None)
        await self.events.publish(Event(type=EventType.ASSET_UPDATED, account_id=principal.account_id,
                                        data={"asset_id": asset_id, "fields": ["file", "version"]}))
        await self.store.delete_prefix(derivatives_prefix(asset_id))
        async with self.catalog.begin() as conn:
            for preview in previews:
                stored_row = await self.ingest.render.cache.store_blob(asset_id, principal.account_id, preview)
                await conn.execute(d.insert().values(**stored_row))
        await self.ingest.analysis.committed(principal.account_id, {asset_id: job_id if skills else None})
        if job_id and not skills and conversions is not None:
            await conversions.submit(job_id)
        return await self.assets.get(principal, asset_id)


def _version(row: sa.Row, number: int, created_at: Any, *, current: bool) -> Version:
    return Version(version=number, size=row.size, mime_type=row.content_type, format=row.format, width=row.width,
                   height=row.height, sha256=row.sha256, filename=row.filename, created_at=utc(created_at),
                   current=current)
