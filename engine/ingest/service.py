"""The one ingest path every source funnels into, for one file or a group of them (``from_staged_many``).

Order matters for crash safety: stage -> sniff -> probe (limits) -> derive -> hold the blobs -> store blobs ->
one catalog transaction. A crash before the transaction leaves no row (and a blob collected once its hold
runs out); a row is only written once its blobs exist. A group goes through the same steps together: each
file is checked alone, then one hold, the blob writes at once, one transaction, one index write.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any, Protocol

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.models import ANALYSIS_KEY, Analysis, Asset, AssetStatus, IngestOptions, OnDuplicate
from engine.assets.blobs import Hold
from engine.assets.service import AssetService, not_found
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
from engine.usage import UsageLedger

BASE64_CHUNK = 4 * 1024 * 1024  # characters decoded per worker-thread call
PREPARED_AT_ONCE = 4
# Files up to this size are sniffed, probed and previewed in one turn of a render worker (a few ms each);
# larger ones are identified beside the render pool, which on-request renders share.
EXAMINED_TOGETHER_BYTES = 8 * 1024 * 1024


class AnalysisPlanner(Protocol):
    """Background analysis of a new asset (enrichment): planned before the row is written, started after."""

    def plan(self, options: IngestOptions, asset_type: str) -> list[str]: ...

    def not_planned(self, options: IngestOptions, asset_type: str, planned: list[str]) -> dict[str, str]: ...

    async def schedule(
        self, conn: AsyncConnection, *, account_id: str, asset_id: str, skills: list[str], options: IngestOptions,
        kind: str | None = None,
    ) -> str: ...

    async def committed(self, account_id: str, jobs: Mapping[str, str | None], *,
                        created: Mapping[str, bool] | None = None) -> None: ...

    async def admit(self, account_id: str) -> None: ...


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
        # Files of one group prepared at once: their previews queue in the render pool beside on-request
        # renders, and a whole group there at once would fill its queue (those renders would get 503 busy).
        self.preparing = anyio.CapacityLimiter(PREPARED_AT_ONCE)
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
        outcome = (await self.from_staged_many(principal, [Incoming(staged, filename, options)]))[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def from_staged_many(self, principal: Principal, files: Sequence[Incoming]) -> list[Asset | Exception]:
        """Many staged files of one account, each checked alone (a refused file fails alone, as its own
        answer), stored together: one hold, blob writes at once, one catalog transaction, one index write and
        one event batch for the group. Every staged file is consumed."""
        outcomes: list[Asset | Exception | None] = [None] * len(files)
        waiting = list(range(len(files)))
        while waiting:
            # A second file with the same bytes goes in the next round, where the first one is "earlier".
            firsts: dict[str, int] = {}
            for index in waiting:
                firsts.setdefault(files[index].staged.sha256, index)
            waiting = [index for index in waiting if firsts[files[index].staged.sha256] != index]
            await self._round(principal, files, list(firsts.values()), outcomes)
        return [outcome if outcome is not None else RuntimeError("not ingested") for outcome in outcomes]

    async def _round(self, principal: Principal, files: Sequence[Incoming], chosen: list[int],
                     outcomes: list[Asset | Exception | None]) -> None:
        earlier = await self._same_bytes(principal.account_id, [files[i].staged.sha256 for i in chosen])
        reused = [i for i in chosen if files[i].staged.sha256 in earlier
                  and files[i].options.on_duplicate is OnDuplicate.REUSE]
        for index in reused:
            files[index].staged.discard()
        found = {a.id: a for a in await self.assets.get_many(principal, [earlier[files[i].staged.sha256] for i in reused])}
        for index in reused:
            first = earlier[files[index].staged.sha256]
            outcomes[index] = found[first].model_copy(update={"duplicate_of": first}) if first in found else not_found(first)
        new = [i for i in chosen if i not in set(reused)]
        try:
            prepared = await asyncio.gather(*(self._prepare(principal, files[i]) for i in new), return_exceptions=True)
            ready = [p for p in prepared if isinstance(p, Prepared)]
            stored = await self._commit(principal, ready) if ready else {}
        finally:
            for index in new:
                files[index].staged.discard()
        for index, made in zip(new, prepared, strict=True):
            if isinstance(made, BaseException) and not isinstance(made, Exception):
                raise made  # cancelled: not an answer
            outcome = made if isinstance(made, Exception) else stored[id(made)]
            first = earlier.get(files[index].staged.sha256)
            outcomes[index] = outcome.model_copy(update={"duplicate_of": first}) if first and isinstance(
                outcome, Asset) else outcome

    async def _same_bytes(self, account_id: str, hashes: list[str]) -> dict[str, str]:
        """The account's first asset with each of these bytes, where it has one."""
        a = tables.assets
        query = (sa.select(a.c.sha256, a.c.id).where(a.c.account_id == account_id, a.c.sha256.in_(hashes),
                                                   a.c.trashed_at.is_(None))
                 .order_by(a.c.created_at.desc(), a.c.id.desc()))
        async with self.catalog.connect() as conn:
            return dict((await conn.execute(query)).tuples().all())  # the last of each sha256 wins: the first

    async def _prepare(self, principal: Principal, file: Incoming) -> Prepared:
        """Everything before the bytes are kept: the account's limits, sniffed type, pixel limits, previews,
        place; refused here, before anything is stored."""
        async with self.preparing:
            return await self._prepare_now(principal, file)

    async def _prepare_now(self, principal: Principal, file: Incoming) -> Prepared:
        if self.plans is not None:  # the account's upload limit, storage quota and default analyses
            file = replace(file, options=await self.plans.upload(principal, file.staged.size, file.options))
        staged, filename, options = file.staged, file.filename, file.options
        kind, info, previews = await self.examine(staged.path, filename, ascii_text=staged.ascii_text,
                                                  pre_render=options.config.pre_render_sizes)
        location = await self._location(info, options)
        # what runs after the row (its analyses; an office file's conversion) is known before anything is kept
        skills = self.analysis.plan(options, kind.type.value)
        converts = self.conversions is not None and self.conversions.converts(kind.format)
        if skills and self.plans is not None:
            await self.plans.analyses(principal)  # within the month's AI operations
        if skills or converts:  # the account's job backlog has room (checked again when the job is written)
            await self.analysis.admit(principal.account_id)
        return Prepared(file, kind, info, previews, location, skills, converts)

    async def examine(self, path: Path, filename: str, *, ascii_text: bool = False,
                      pre_render: bool | None = None) -> tuple[FileKind, Probe, list[Rendered]]:
        """What a file is (sniffed from its bytes, refused unless allowed), its probe, and its previews: the same
        checks for a new asset and for a new version of one."""
        if path.stat().st_size <= EXAMINED_TOGETHER_BYTES:
            # One turn of a render worker for all three (a thread hop each otherwise): off the event loop, as
            # the text check reads the whole file and the previews decode it.
            return await self.render.pool.run(lambda: self._examine_now(path, filename, ascii_text, pre_render),
                                              wait=True)
        # A large file's text check (reading all of it) or document probe runs beside the renders, not in a
        # render worker that a request may be waiting for.
        kind, info = await anyio.to_thread.run_sync(lambda: self._identify(path, filename, ascii_text),
                                                    limiter=self.cpu)
        previews = await self.render.for_ingest(path, kind.format, width=info.width, pre_render=pre_render,
                                                thumbnail_effort=self.settings.thumbnail_webp_effort)
        return kind, info, previews

    def _examine_now(self, path: Path, filename: str, ascii_text: bool,
                     pre_render: bool | None) -> tuple[FileKind, Probe, list[Rendered]]:
        kind, info = self._identify(path, filename, ascii_text)
        # the preview (and responsive sizes) go through the render path, as ordinary cached derivatives
        previews = self.render.previews(path, kind.format, width=info.width, pre_render=pre_render,
                                        thumbnail_effort=self.settings.thumbnail_webp_effort)
        return kind, info, previews

    def _identify(self, path: Path, filename: str, ascii_text: bool) -> tuple[FileKind, Probe]:
        kind = sniff(path, filename, ascii_text=ascii_text, archive=self.settings.archive_limits())
        if kind is None:
            raise UnsupportedMediaType(
                f"This file type is not allowed. Allowed types: {ALLOWED_FORMATS}.",
                code="asset_content_type_not_allowed", allowed=list(KINDS),
            )
        return kind, probe(path, kind, max_pixels=self.settings.max_pixels, archive=self.settings.archive_limits())

    async def _location(self, info: Probe, options: IngestOptions) -> dict[str, object] | None:
        if info.gps is None:
            return None
        lat, lon = info.gps
        if options.config.location_lookup is False:
            return {"lat": lat, "lon": lon, "label": None}
        place = await anyio.to_thread.run_sync(self.geocoder.lookup, lat, lon)
        return {"lat": lat, "lon": lon, "label": place.label}

    async def _commit(self, principal: Principal, group: list[Prepared]) -> dict[int, Asset | Exception]:
        """Hold the blobs, write them, then one transaction for the rows (id of each prepared -> its answer).

        A row is only written once its bytes exist; should the group's transaction fail, each file is
        written in a transaction of its own, so one bad row never costs the others theirs."""
        hold = await self.assets.blobs.hold_many({p.file.staged.sha256: original_key(p.file.staged.sha256)
                                                  for p in group}, grace_s=self.settings.blob_grace_s)
        # the holds are committed before the bytes are written, so no collector in any process takes them
        written = await asyncio.gather(*(self._write_blobs(principal, p) for p in group), return_exceptions=True)
        outcomes: dict[int, Asset | Exception] = {}
        rows: list[NewRow] = []
        for prepared, result in zip(group, written, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            if isinstance(result, Exception):
                outcomes[id(prepared)] = result
            else:
                rows.append(result)
        committed: list[NewRow] = []
        try:
            if rows:
                async with self.catalog.begin() as conn:
                    await self._insert(conn, rows, hold)
                committed = rows
        except Exception as error:
            if len(rows) == 1:
                outcomes[id(rows[0].prepared)] = error
            else:
                for row in rows:
                    try:
                        async with self.catalog.begin() as conn:
                            await self._insert(conn, [row], hold)
                        committed.append(row)
                    except Exception as alone:
                        outcomes[id(row.prepared)] = alone
        if committed:
            await self.analysis.committed(principal.account_id,
                                          {row.asset_id: row.job_id if row.skills else None for row in committed},
                                          created={row.asset_id: row.job_id is not None for row in committed})
            for row in committed:
                if row.job_id and not row.skills and self.conversions is not None:  # a conversion alone:
                    await self.conversions.submit(row.job_id)  # the asset is ready meanwhile
            answers = {a.id: a for a in await self.assets.get_many(principal, [row.asset_id for row in committed])}
            for row in committed:
                outcomes[id(row.prepared)] = answers.get(row.asset_id) or not_found(row.asset_id)
        return outcomes

    async def _write_blobs(self, principal: Principal, prepared: Prepared) -> NewRow:
        """The original's bytes and its previews' (each durably written), and the row that will hold them."""
        staged, kind, info, options = prepared.file.staged, prepared.kind, prepared.info, prepared.file.options
        asset_id = new_id(IdPrefix.ASSET)
        blob_key = original_key(staged.sha256)
        stamp = now()
        exif = dict(info.exif) | ({"pages": info.pages} if info.pages else {})
        row = dict(
            id=asset_id, account_id=principal.account_id, status=AssetStatus.READY.value, type=kind.type.value,
            filename=prepared.file.filename, content_type=kind.content_type, format=kind.format, size=staged.size,
            width=info.width, height=info.height, sha256=staged.sha256, blob_key=blob_key, exif=exif,
            location=prepared.location, tags=options.tags, metadata=options.metadata,
            description=options.description, alt_text=options.alt_text, is_public=options.is_public, ai={},
            config=options.config.model_dump(exclude_none=True), created_at=stamp, updated_at=stamp,
        )
        row["taken_at"], row["taken_offset"] = taken_from(exif, staged.modified_at or stamp)
        skills = prepared.skills
        if skills:
            row["status"] = AssetStatus.PROCESSING.value
        outcome = Analysis(pending=skills, skipped=self.analysis.not_planned(options, kind.type.value, skills))
        row["ai"] = {ANALYSIS_KEY: outcome.model_dump(exclude_defaults=True)}
        await self.store.put_file(blob_key, staged.path)
        derivatives = [await self.render.cache.store_blob(asset_id, principal.account_id, p) for p in prepared.previews]
        return NewRow(prepared=prepared, row=row, derivatives=derivatives, skills=skills)

    async def _insert(self, conn: AsyncConnection, rows: list[NewRow], holds: Mapping[str, Hold]) -> None:
        """The assets' rows, in the caller's transaction: the assets, their holds given back, their previews,
        their storage charges and, where they have any, their analysis jobs (written with the row, so neither
        exists alone)."""
        await conn.execute(tables.assets.insert(), [new.row for new in rows])
        await self.assets.blobs.release_holds(conn, [holds[new.sha256] for new in rows])
        derivatives = [derivative for new in rows for derivative in new.derivatives]
        if derivatives:
            await conn.execute(tables.derivatives.insert(), derivatives)
        by_account: dict[str, dict[str, int]] = {}
        for new in rows:
            by_account.setdefault(new.row["account_id"], {})[new.asset_id] = new.row["size"]
        for account_id, sizes in by_account.items():  # one insert and one meter move for the group
            await self.ledger.record_stored(conn, account_id, sizes)
        for new in rows:
            new.job_id = None
            converts = new.prepared.converts
            if new.skills or converts:
                # an office file's job converts it first, then runs the same analyses
                job_kind = self.conversions.job_kind_name if converts and self.conversions else None
                new.job_id = await self.analysis.schedule(
                    conn, account_id=new.row["account_id"], asset_id=new.asset_id, skills=new.skills,
                    options=new.prepared.file.options, kind=job_kind,
                )


@dataclass
class Incoming:
    """A staged file for ``from_staged_many``: its bytes, its cleaned name, the caller's options."""

    staged: StagedFile
    filename: str
    options: IngestOptions


@dataclass(eq=False)
class Prepared:
    file: Incoming
    kind: FileKind
    info: Probe
    previews: list[Rendered]
    location: dict[str, object] | None
    skills: list[str]
    converts: bool


@dataclass(eq=False)
class NewRow:
    prepared: Prepared
    row: dict[str, Any]
    derivatives: list[dict[str, object]]
    skills: list[str]
    job_id: str | None = None

    @property
    def asset_id(self) -> str:
        return str(self.row["id"])

    @property
    def sha256(self) -> str:
        return str(self.prepared.file.staged.sha256)


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
