"""The one ingest path every source funnels into.

Order matters for crash safety: stage -> sniff -> probe (limits) -> derive -> store blobs -> one catalog
transaction. A crash before the transaction leaves no row; a row is only written once its blobs exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path, PurePath

import anyio

from engine.assets.models import Asset, AssetStatus, IngestOptions
from engine.assets.service import THUMBNAIL_KIND, AssetService
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.errors import InvalidInput, UnsupportedMediaType
from engine.ids import IdPrefix, new_id
from engine.ingest.fetch import fetch_url
from engine.ingest.sniff import ALLOWED_FORMATS, KINDS, FileKind, sniff
from engine.ingest.staging import StagedFile, StagingWriter, stage
from engine.media.probe import Probe, probe
from engine.media.thumbnail import make_thumbnail
from engine.places import OfflineGeocoder
from engine.settings import IngestSettings
from engine.storage import BlobStore, original_key
from engine.usage import UsageKind, UsageLedger

BASE64_CHUNK = 4 * 1024 * 1024  # a multiple of 4, so every slice decodes on its own


def clean_filename(name: str | None) -> str:
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    cleaned = "".join(ch for ch in base if ch.isprintable())[:255]
    return cleaned or "upload"


class IngestService:
    def __init__(
        self,
        *,
        settings: IngestSettings,
        catalog: Catalog,
        store: BlobStore,
        ledger: UsageLedger,
        assets: AssetService,
        geocoder: OfflineGeocoder,
        work_dir: Path,
    ):
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.ledger = ledger
        self.assets = assets
        self.geocoder = geocoder
        self.work_dir = work_dir
        self.cpu = anyio.CapacityLimiter(4)

    # -- sources ---------------------------------------------------------------------------------

    def staging_writer(self) -> StagingWriter:
        """For front doors that receive a file in pieces and hand it over with ``from_staged``."""
        return StagingWriter(self.work_dir, max_bytes=self.settings.max_bytes)

    async def from_stream(
        self, principal: Principal, filename: str | None, chunks: AsyncIterator[bytes], options: IngestOptions
    ) -> Asset:
        staged = await stage(chunks, self.work_dir, max_bytes=self.settings.max_bytes)
        return await self.from_staged(principal, staged, clean_filename(filename), options)

    async def from_url(self, principal: Principal, url: str, options: IngestOptions) -> Asset:
        async with fetch_url(url, self.settings) as body:
            staged = await stage(body.chunks, self.work_dir, max_bytes=self.settings.max_bytes)
        return await self.from_staged(principal, staged, clean_filename(body.filename), options)

    async def from_base64(self, principal: Principal, data: str, filename: str | None, options: IngestOptions) -> Asset:
        return await self.from_stream(principal, filename, _decode_base64(data), options)

    async def from_path(self, principal: Principal, path: Path, options: IngestOptions) -> Asset:
        if not path.is_file():
            raise InvalidInput(f"No readable file at {str(path)!r}.", code="asset_file_required")
        return await self.from_stream(principal, path.name, _read_file(path), options)

    # -- the path ----------------------------------------------------------------------------------

    async def from_staged(self, principal: Principal, staged: StagedFile, filename: str, options: IngestOptions) -> Asset:
        try:
            kind = sniff(staged.path, filename)
            if kind is None:
                raise UnsupportedMediaType(
                    f"This file type is not allowed. Allowed types: {ALLOWED_FORMATS}.",
                    code="asset_content_type_not_allowed", allowed=list(KINDS),
                )
            info = await anyio.to_thread.run_sync(
                lambda: probe(staged.path, kind, max_pixels=self.settings.max_pixels), limiter=self.cpu
            )
            thumbnail = await anyio.to_thread.run_sync(
                lambda: make_thumbnail(staged.path, kind, self.settings.thumbnail_px), limiter=self.cpu
            )
            location = await self._location(info, options)
            return await self._commit(principal, staged, filename, kind, info, thumbnail, location, options)
        finally:
            staged.discard()

    async def _location(self, info: Probe, options: IngestOptions) -> dict[str, object] | None:
        if info.gps is None:
            return None
        lat, lon = info.gps
        if options.config.location_lookup is False:
            return {"lat": lat, "lon": lon, "label": None}
        place = await anyio.to_thread.run_sync(self.geocoder.lookup, lat, lon)
        return {"lat": lat, "lon": lon, "label": place.label}

    async def _commit(
        self,
        principal: Principal,
        staged: StagedFile,
        filename: str,
        kind: FileKind,
        info: Probe,
        thumbnail: tuple[bytes, int, int] | None,
        location: dict[str, object] | None,
        options: IngestOptions,
    ) -> Asset:
        asset_id = new_id(IdPrefix.ASSET)
        blob_key = original_key(staged.sha256)
        stamp = now()
        exif = dict(info.exif) | ({"pages": info.pages} if info.pages else {})
        row = dict(
            id=asset_id, account_id=principal.account_id, status=AssetStatus.READY.value, type=kind.type.value,
            filename=filename, content_type=kind.content_type, format=kind.format, size=staged.size,
            width=info.width, height=info.height, sha256=staged.sha256, blob_key=blob_key, exif=exif,
            location=location, tags=options.tags, metadata=options.metadata, description=options.description,
            alt_text=options.alt_text, is_public=options.is_public, ai={},
            config=options.config.model_dump(exclude_none=True), created_at=stamp, updated_at=stamp,
        )
        async with self.assets.blob_locks.hold(staged.sha256):
            await self.store.put_file(blob_key, staged.path)
            derivative = await self._store_thumbnail(asset_id, principal.account_id, thumbnail)
            async with self.catalog.begin() as conn:
                await conn.execute(tables.assets.insert().values(**row))
                if derivative:
                    await conn.execute(tables.derivatives.insert().values(**derivative))
                await self.ledger.record(
                    account_id=principal.account_id, asset_id=asset_id, kind=UsageKind.STORAGE,
                    quantity=staged.size, conn=conn,
                )
        return await self.assets.get(principal, asset_id)

    async def _store_thumbnail(
        self, asset_id: str, account_id: str, thumbnail: tuple[bytes, int, int] | None
    ) -> dict[str, object] | None:
        if thumbnail is None:
            return None
        data, width, height = thumbnail
        params_hash = hashlib.sha256(f"{THUMBNAIL_KIND}:{self.settings.thumbnail_px}".encode()).hexdigest()
        key = f"derivatives/{asset_id}/{params_hash}.webp"
        await self.store.put_bytes(key, data)
        return dict(
            id=new_id(IdPrefix.DERIVATIVE), asset_id=asset_id, account_id=account_id, params_hash=params_hash,
            kind=THUMBNAIL_KIND, blob_key=key, content_type="image/webp", size=len(data), width=width,
            height=height, created_at=now(),
        )


async def _decode_base64(data: str) -> AsyncIterator[bytes]:
    compact = "".join(data.split())
    if compact.startswith("data:") and "," in compact:
        compact = compact.split(",", 1)[1]
    for start in range(0, len(compact), BASE64_CHUNK):
        try:
            yield base64.b64decode(compact[start : start + BASE64_CHUNK], validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidInput(f"The base64 data is not valid: {error}.", code="asset_base64_invalid") from error


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(1024 * 1024):
            yield chunk
