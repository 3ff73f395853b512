"""The one ingest path every source funnels into.

Order matters for crash safety: stage -> sniff -> probe (limits) -> derive -> hold the blob -> store blobs ->
one catalog transaction. A crash before the transaction leaves no row (and a blob collected once its hold
runs out); a row is only written once its blobs exist.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Protocol

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.models import ANALYSIS_KEY, Analysis, Asset, AssetStatus, IngestOptions, OnDuplicate
from engine.assets.service import AssetService
from engine.assets.taken import taken_from
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.errors import InvalidInput, UnsupportedMediaType
from engine.ids import IdPrefix, new_id
from engine.ingest.fetch import fetch_url
from engine.ingest.local_paths import readable_path
from engine.ingest.sniff import ALLOWED_FORMATS, KINDS, FileKind, sniff
from engine.ingest.staging import StagedFile, StagingWriter, stage
from engine.media.probe import Probe, probe
from engine.places import OfflineGeocoder
from engine.plans.service import Plans
from engine.render.cache import Rendered
from engine.render.service import RenderService
from engine.settings import IngestSettings
from engine.storage import BlobStore, original_key
from engine.usage import UsageKind, UsageLedger

BASE64_CHUNK = 4 * 1024 * 1024  # characters decoded per worker-thread call


class AnalysisPlanner(Protocol):
    """Background analysis of a new asset (enrichment): planned before the row is written, started after."""

    def plan(self, options: IngestOptions, asset_type: str) -> list[str]: ...

    def not_planned(self, options: IngestOptions, asset_type: str, planned: list[str]) -> dict[str, str]: ...

    async def schedule(
        self, conn: AsyncConnection, *, account_id: str, asset_id: str, skills: list[str], options: IngestOptions,
        kind: str | None = None,
    ) -> str: ...

    async def committed(self, account_id: str, asset_id: str, job_id: str | None) -> None: ...


def clean_filename(name: str | None) -> str:
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    cleaned = "".join(ch for ch in base if ch.isprintable())[:255]
    return cleaned or "upload"


class Conversions(Protocol):
    """Documents that get a PDF view (``DocumentService``): their job converts, then runs the analyses."""

    job_kind_name: str

    def converts(self, fmt: str) -> bool: ...

    async def submit(self, job_id: str) -> None: ...


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
        render: RenderService,
        analysis: AnalysisPlanner,
        conversions: Conversions | None = None,
        plans: Plans | None = None,
    ):
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.ledger = ledger
        self.assets = assets
        self.geocoder = geocoder
        self.work_dir = work_dir
        self.render = render
        self.cpu = anyio.CapacityLimiter(4)
        self.analysis = analysis
        self.conversions = conversions
        self.plans = plans  # the account's upload limit, quotas and default analyses (None: none apply)

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

    async def from_path(
        self, principal: Principal, path: Path, options: IngestOptions, *, within: Sequence[Path] | None = None
    ) -> Asset:
        """A local file. ``within``: the folders it must lie in when a model chose the path (MCP over stdio,
        see ``local_paths.allowed_roots``); the CLI, where the user names the file, passes none."""
        real = path if within is None else readable_path(path, within)
        if not real.is_file():
            raise InvalidInput(f"No readable file at {str(path)!r}.", code="asset_file_required")
        staged = await stage(_read_file(real), self.work_dir, max_bytes=self.settings.max_bytes)
        staged.modified_at = _modified_at(real)  # its taken time when its contents name none
        return await self.from_staged(principal, staged, clean_filename(path.name), options)

    # -- the path ----------------------------------------------------------------------------------

    async def from_staged(self, principal: Principal, staged: StagedFile, filename: str, options: IngestOptions) -> Asset:
        earlier = await self._same_bytes(principal.account_id, staged.sha256)
        if earlier is not None and options.on_duplicate is OnDuplicate.REUSE:
            staged.discard()
            return (await self.assets.get(principal, earlier)).model_copy(update={"duplicate_of": earlier})
        if self.plans is not None:  # the account's upload limit, storage quota and default analyses
            try:
                options = await self.plans.upload(principal, staged.size, options)
            except BaseException:
                staged.discard()
                raise
        asset = await self._store_new(principal, staged, filename, options)
        return asset.model_copy(update={"duplicate_of": earlier}) if earlier else asset

    async def _same_bytes(self, account_id: str, sha256: str) -> str | None:
        """The account's first asset with these bytes, if any."""
        a = tables.assets
        query = (sa.select(a.c.id).where(a.c.account_id == account_id, a.c.sha256 == sha256, a.c.trashed_at.is_(None))
                 .order_by(a.c.created_at, a.c.id).limit(1))
        async with self.catalog.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def examine(self, path: Path, filename: str, *, ascii_text: bool = False,
                      pre_render: bool | None = None) -> tuple[FileKind, Probe, list[Rendered]]:
        """What a file is (sniffed from its bytes, refused unless allowed), its probe, and its previews: the same
        checks for a new asset and for a new version of one."""
        # in a worker thread: the text check reads the whole file, which must not stall other requests
        kind = await anyio.to_thread.run_sync(
            lambda: sniff(path, filename, ascii_text=ascii_text, archive=self.settings.archive_limits()),
            limiter=self.cpu,
        )
        if kind is None:
            raise UnsupportedMediaType(
                f"This file type is not allowed. Allowed types: {ALLOWED_FORMATS}.",
                code="asset_content_type_not_allowed", allowed=list(KINDS),
            )
        info = await anyio.to_thread.run_sync(
            lambda: probe(path, kind, max_pixels=self.settings.max_pixels, archive=self.settings.archive_limits()),
            limiter=self.cpu,
        )
        # the preview (and responsive sizes) go through the render path, as ordinary cached derivatives
        previews = await self.render.for_ingest(path, kind.format, width=info.width, pre_render=pre_render)
        return kind, info, previews

    async def _store_new(self, principal: Principal, staged: StagedFile, filename: str, options: IngestOptions) -> Asset:
        try:
            kind, info, previews = await self.examine(staged.path, filename, ascii_text=staged.ascii_text,
                                                      pre_render=options.config.pre_render_sizes)
            location = await self._location(info, options)
            return await self._commit(principal, staged, filename, kind, info, previews, location, options)
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
        previews: list[Rendered],
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
        row["taken_at"], row["taken_offset"] = taken_from(exif, staged.modified_at or stamp)
        skills = self.analysis.plan(options, kind.type.value)
        if skills and self.plans is not None:
            await self.plans.analyses(principal)  # within the month's AI operations, before anything is stored
        if skills:
            row["status"] = AssetStatus.PROCESSING.value
        outcome = Analysis(pending=skills, skipped=self.analysis.not_planned(options, kind.type.value, skills))
        row["ai"] = {ANALYSIS_KEY: outcome.model_dump(exclude_defaults=True)}
        job_id: str | None = None
        converts = self.conversions is not None and self.conversions.converts(kind.format)
        if skills or converts:  # refused now, before any byte is written, rather than in the transaction below
            await self.analysis.admit(principal.account_id)
        # the hold is committed before the bytes are written, so no collector in any process takes them
        hold = await self.assets.blobs.hold(staged.sha256, blob_key, grace_s=self.settings.blob_grace_s)
        await self.store.put_file(blob_key, staged.path)
        derivatives = [await self.render.cache.store_blob(asset_id, principal.account_id, p) for p in previews]
        async with self.catalog.begin() as conn:
            await conn.execute(tables.assets.insert().values(**row))
            await self.assets.blobs.release_hold(conn, hold)
            for derivative in derivatives:
                await conn.execute(tables.derivatives.insert().values(**derivative))
            await self.ledger.record(
                account_id=principal.account_id, asset_id=asset_id, kind=UsageKind.STORAGE,
                quantity=staged.size, conn=conn,
            )
            if skills or converts:  # the job is written with the row, so neither exists alone
                # an office file's job converts it first, then runs the same analyses
                job_kind = self.conversions.job_kind_name if converts and self.conversions else None
                job_id = await self.analysis.schedule(
                    conn, account_id=principal.account_id, asset_id=asset_id, skills=skills, options=options,
                    kind=job_kind,
                )
        await self.analysis.committed(principal.account_id, asset_id, job_id if skills else None)
        if job_id and not skills and self.conversions is not None:  # a conversion alone: the asset is ready meanwhile
            await self.conversions.submit(job_id)
        return await self.assets.get(principal, asset_id)


def _decode_piece(text: str) -> tuple[bytes, str]:
    """Decode the whole 4-character groups of ``text`` (whitespace ignored); the rest is carried over."""
    compact = "".join(text.split())
    whole = len(compact) - len(compact) % 4
    try:
        return base64.b64decode(compact[:whole], validate=True), compact[whole:]
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(f"The base64 data is not valid: {error}.", code="asset_base64_invalid") from error


async def _decode_base64(data: str) -> AsyncIterator[bytes]:
    """Decoded a slice at a time in a worker thread: no whole-file copy, and the event loop stays free."""
    start = 0
    head = data[:64].lstrip()
    if head.startswith("data:") and "," in data:
        start = data.index(",") + 1
    carry = ""
    for offset in range(start, len(data), BASE64_CHUNK):
        decoded, carry = await anyio.to_thread.run_sync(_decode_piece, carry + data[offset : offset + BASE64_CHUNK])
        if decoded:
            yield decoded
    if carry:
        raise InvalidInput(
            "The base64 data is not valid: its length (without whitespace) is not a multiple of 4.",
            code="asset_base64_invalid",
        )


def _modified_at(path: Path) -> datetime | None:
    """A local file's modification time in this machine's zone (the zone its owner's clock shows), or
    ``None`` when the file system reports none worth keeping (the epoch, a time in the future)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return None
    moment = datetime.fromtimestamp(stamp, UTC)
    return moment.astimezone() if 0 < stamp and moment <= now() else None


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(1024 * 1024):
            yield chunk
