"""Resumable uploads: create, append chunks, finish through the one ingest path, terminate, expire.

State lives in the catalog row (offset, length, status, the spool's backend state) and the bytes in the
spool, so an upload resumes after a restart. A finished upload is handed to ``IngestService.from_staged``:
the same sniffing, limits, config flags and analysis as any other ingest.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio

from engine.assets.models import Asset, IngestOptions
from engine.assets.service import AssetService
from engine.auth.keys import Principal
from engine.catalog.database import now, utc
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, PicshaError, TooLarge
from engine.ids import IdPrefix, new_id
from engine.ingest import IngestService
from engine.ingest.staging import StagedFile, too_large
from engine.uploads.checksum import ChunkDigests, RunningFile
from engine.uploads.concat import check_parts, file_sha256, join_files
from engine.uploads.lease import WriteLease, locked
from engine.uploads.metadata import parse_metadata
from engine.uploads.models import (
    UNFINISHED, Checksum, ConcatKind, Upload, UploadCreate, UploadError, UploadStatus,
)
from engine.uploads.records import Row, UploadRecords, to_model
from engine.uploads.settings import UploadSettings
from engine.uploads.spool import Spool

log = logging.getLogger("picsha.uploads")


def _not_found(upload_id: str) -> NotFound:
    return NotFound(f"No upload {upload_id!r} in this account.", code="upload_not_found")


def _stored_error(error: dict[str, Any]) -> PicshaError:
    stored = UploadError.model_validate(error)
    return PicshaError(stored.message, code=stored.code, status=stored.status, **stored.details)


class UploadService:
    def __init__(
        self, *, settings: UploadSettings, records: UploadRecords, spool: Spool, ingest: IngestService,
        assets: AssetService, max_bytes: int,
    ):
        self.settings = settings
        self.records = records
        self.spool = spool
        self.ingest = ingest
        self.assets = assets
        self.max_bytes = max_bytes
        # The running SHA-256 (and text check) of each upload this process is receiving. After a restart
        # it is missing and the finished file is read once instead.
        self._hashes: dict[str, RunningFile] = {}

    # -- reading --------------------------------------------------------------------------------

    async def _row(self, principal: Principal, upload_id: str) -> Row:
        row = await self.records.fetch(principal.account_id, upload_id)
        if row is None:
            raise _not_found(upload_id)
        expires = utc(row["expires_at"])
        if row["status"] in UNFINISHED and expires is not None and expires < now():
            raise PicshaError(
                f"The upload {upload_id!r} expired at {expires.isoformat()}; start a new one.",
                code="upload_expired", status=410,
            )
        return row

    async def get(self, principal: Principal, upload_id: str) -> Upload:
        return to_model(await self._row(principal, upload_id))

    async def finished_asset(self, principal: Principal, upload_id: str) -> Asset:
        row = await self._row(principal, upload_id)
        if row["status"] == UploadStatus.FAILED.value and row["error"]:
            raise _stored_error(row["error"])
        if row["status"] != UploadStatus.DONE.value or not row["asset_id"]:
            raise Conflict(
                f"The upload {upload_id!r} is {row['status']} ({row['offset']} of {row['length']} bytes); "
                "only a finished upload has an asset.", code="upload_not_finished", status_of_upload=row["status"],
            )
        return await self.assets.get(principal, row["asset_id"])

    # -- creation -------------------------------------------------------------------------------

    async def create(self, principal: Principal, spec: UploadCreate) -> Upload:
        parts: list[Row] = []
        length = spec.length
        if spec.concat is ConcatKind.FINAL:
            rows = [await self.records.fetch(principal.account_id, part) for part in spec.parts]
            length = check_parts(spec.parts, rows)
            parts = [row for row in rows if row is not None]
        if length is not None and length > self.max_bytes:
            raise too_large(self.max_bytes)
        if length is not None and self.ingest.plans is not None:  # the account's limit and quota, before any byte
            await self.ingest.plans.upload(principal, length, IngestOptions())
        if await self.records.count_unfinished(principal.account_id) >= self.settings.max_unfinished_per_account:
            raise PicshaError(
                f"This account already has {self.settings.max_unfinished_per_account} unfinished uploads; finish, "
                "terminate or let some expire first.", code="upload_limit_reached", status=429,
                max_unfinished=self.settings.max_unfinished_per_account,
            )
        meta = parse_metadata(spec.metadata)
        stamp = now()
        row = dict(
            id=new_id(IdPrefix.UPLOAD), account_id=principal.account_id, length=length, offset=0,
            metadata={"filename": meta.filename, "content_type": meta.content_type,
                      "options": meta.options.model_dump(mode="json")},
            status=UploadStatus.UPLOADING.value, expires_at=stamp + timedelta(seconds=self.settings.expire_after_s),
            created_at=stamp, updated_at=stamp, concat=spec.concat.value if spec.concat else None,
            parts=spec.parts or None, spool={}, metadata_header=spec.metadata_header,
        )
        await self.records.insert(row)
        if parts:
            await self._assemble(row, parts)
        return to_model(row)

    async def _assemble(self, row: Row, parts: list[Row]) -> None:
        sources = [await self.spool.materialize(p["id"], p["spool"] or {}, p["length"]) for p in parts]
        digest = await join_files(sources, self.spool.path(row["id"]))
        self._hashes[row["id"]] = RunningFile(offset=row["length"], sha256=digest, ascii_text=False)
        row.update(offset=row["length"], spool={"joined": True})
        await self.records.update(row["id"], offset=row["length"], spool=row["spool"])
        for part in parts:
            await self.spool.discard(part["id"], part["spool"] or {})
            await self.records.delete(part["id"])

    # -- appending ------------------------------------------------------------------------------

    def _check_append(self, row: Row, offset: int, length: int | None, content_length: int | None) -> int | None:
        """The upload's length once this PATCH is applied; raises the protocol's refusals."""
        if row["concat"] == ConcatKind.FINAL.value:
            raise Forbidden("A final (concatenated) upload cannot be patched.", code="upload_concat_final")
        if row["status"] == UploadStatus.FAILED.value and row["error"]:
            raise _stored_error(row["error"])
        if offset != row["offset"]:
            raise Conflict(
                f"Upload-Offset is {offset} but the upload has {row['offset']} bytes; resume from {row['offset']}.",
                code="upload_offset_mismatch", offset=row["offset"],
            )
        if content_length is not None and offset + content_length > self.max_bytes:
            raise too_large(self.max_bytes)
        known = row["length"]
        if length is not None and known is not None and length != known:
            raise InvalidInput(f"Upload-Length is already {known}; it cannot change.", code="upload_length_mismatch")
        if length is not None and known is None:
            if length < offset:
                raise InvalidInput(f"Upload-Length {length} is below the {offset} bytes received.", code="upload_length_mismatch")
            if length > self.max_bytes:
                raise too_large(self.max_bytes)
            known = length
        if content_length is not None and known is not None and offset + content_length > known:
            raise TooLarge(
                f"This chunk would take the upload past its Upload-Length of {known} bytes.",
                code="upload_length_exceeded", length=known,
            )
        return known

    async def append(
        self, principal: Principal, upload_id: str, *, offset: int, chunks: AsyncIterator[bytes],
        length: int | None = None, checksum: Checksum | None = None, content_length: int | None = None,
    ) -> Upload:
        token = uuid.uuid4().hex
        # The common case (the upload is ours, live, idle and at this offset) takes the lease and reads
        # the row in one statement; any other case reads the row first, to refuse precisely.
        row = await self.records.lease_for_append(principal.account_id, upload_id, offset, token, self.settings.lease_s)
        if row is None:
            await self._lease_checked(principal, upload_id, token, offset, length, content_length)
        try:
            if row is None:  # read again under the lease: another writer may have moved the offset since
                row = await self._row(principal, upload_id)
            known = self._check_append(row, offset, length, content_length)
            if row["status"] != UploadStatus.UPLOADING.value:  # all bytes are in: a repeated last PATCH
                await self.records.release(upload_id, token)
                return to_model(row)
            row = await self._write(row, token, offset, known, chunks, checksum)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.records.release(upload_id, token)
            raise
        return await self._settle(principal, row, token)

    async def _lease_checked(
        self, principal: Principal, upload_id: str, token: str, offset: int, length: int | None,
        content_length: int | None,
    ) -> None:
        """Take the lease after the row's checks pass, so a refused PATCH gets the protocol's answer, not 423."""
        row = await self._row(principal, upload_id)
        self._check_append(row, offset, length, content_length)
        if row["status"] == UploadStatus.PROCESSING.value or not await self.records.take_lease(
            upload_id, token, self.settings.lease_s
        ):
            raise locked()

    async def _write(
        self, row: Row, token: str, offset: int, known: int | None, chunks: AsyncIterator[bytes],
        checksum: Checksum | None,
    ) -> Row:
        upload_id = row["id"]
        cached = self._hashes.get(upload_id)
        running = cached if cached and cached.offset == offset else (RunningFile.empty() if offset == 0 else None)
        digests = ChunkDigests(checksum, running)
        lease = WriteLease(self.records, upload_id, token, self.settings.lease_s)
        limit = (known if known is not None else self.max_bytes) - offset
        ingest_at = None if row["concat"] == ConcatKind.PARTIAL.value else known
        written, state = await lease.run(partial(
            self.spool.write, upload_id, row["spool"] or {}, offset, chunks, limit=limit, digests=digests,
            lease=lease, ingest_at=ingest_at,
        ))
        if (running := digests.running(offset + written)) is not None:
            self._hashes[upload_id] = running
        return row | {"offset": offset + written, "length": known, "spool": state}

    async def _settle(self, principal: Principal, row: Row, token: str) -> Upload:
        """Record the new offset; when the last byte is in, finish the upload (ingest or, for a part, wait)."""
        expires = now() + timedelta(seconds=self.settings.expire_after_s)
        complete = row["length"] is not None and row["offset"] == row["length"]
        status = UploadStatus.UPLOADING
        if complete:
            status = UploadStatus.COMPLETE if row["concat"] == ConcatKind.PARTIAL.value else UploadStatus.PROCESSING
        changes = dict(offset=row["offset"], length=row["length"], spool=row["spool"], status=status.value, expires_at=expires)
        if status is not UploadStatus.PROCESSING:
            with anyio.CancelScope(shield=True):
                released = await self.records.release(row["id"], token, **changes)
            if not released:
                raise self._overtaken(row["id"])
            return to_model(row | changes)
        if not await self.records.update_held(row["id"], token, **changes):
            raise self._overtaken(row["id"])
        return await self._finish(principal, row | changes, token)

    def _overtaken(self, upload_id: str) -> PicshaError:
        """Another request took the lease after this PATCH's last byte: the PATCH does not count, and its
        running hash (perhaps stored over the other writer's) is dropped; the finished file is read instead."""
        self._hashes.pop(upload_id, None)
        return locked()

    # -- finishing ------------------------------------------------------------------------------

    async def finish(self, principal: Principal, upload_id: str) -> Upload:
        """Ingest a final (concatenated) upload right after its creation."""
        row = await self._row(principal, upload_id)
        token = uuid.uuid4().hex
        if not await self.records.take_lease(upload_id, token, self.settings.lease_s):
            raise locked()
        await self.records.update(upload_id, status=UploadStatus.PROCESSING.value)
        return await self._finish(principal, row, token)

    async def _staged(self, row: Row) -> StagedFile:
        size = int(row["offset"])
        if (row["spool"] or {}).get("joined"):
            path = self.spool.path(row["id"])
        else:
            path = await self.spool.materialize(row["id"], row["spool"] or {}, size)
        cached = self._hashes.pop(row["id"], None)
        if cached is None or cached.offset != size:
            return StagedFile(path=path, size=size, sha256=await file_sha256(path))
        return StagedFile(path=path, size=size, sha256=cached.sha256.hexdigest(), ascii_text=cached.ascii_text)

    async def _finish(self, principal: Principal, row: Row, token: str) -> Upload:
        kept = now() + timedelta(seconds=self.settings.keep_finished_s)
        meta = row["metadata"] or {}
        try:
            staged = await self._staged(row)
            options = IngestOptions.model_validate(meta.get("options") or {})
            asset = await self.ingest.from_staged(principal, staged, meta.get("filename") or "upload", options)
        except BaseException as error:
            if not isinstance(error, PicshaError):
                log.exception("ingest of upload %s failed", row["id"], exc_info=error)
            failure = error if isinstance(error, PicshaError) else PicshaError(
                "The upload could not be ingested; it has been logged.", code="internal_error", status=500
            )
            stored = UploadError(code=failure.code, message=failure.message, status=failure.status, details=failure.details)
            changes = dict(status=UploadStatus.FAILED.value, error=stored.model_dump(), expires_at=kept, spool=None)
            with anyio.CancelScope(shield=True):
                await self.spool.discard(row["id"], row["spool"] or {})
                await self.records.release(row["id"], token, **changes)
            raise
        changes = dict(status=UploadStatus.DONE.value, asset_id=asset.id, expires_at=kept, spool=None)
        with anyio.CancelScope(shield=True):
            await self.spool.discard(row["id"], row["spool"] or {})
            await self.records.release(row["id"], token, **changes)
        return to_model(row | changes)

    # -- removal --------------------------------------------------------------------------------

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        row = await self.records.fetch(principal.account_id, upload_id)
        if row is None:
            raise _not_found(upload_id)
        if not await self.records.take_lease(upload_id, uuid.uuid4().hex, self.settings.lease_s):
            raise locked()
        await self._remove(row)

    async def _remove(self, row: Row) -> None:
        self._hashes.pop(row["id"], None)
        if row["status"] in UNFINISHED:
            await self.spool.discard(row["id"], row["spool"] or {})
        await self.records.delete(row["id"])

    async def sweep(self) -> int:
        """Remove expired uploads and their bytes; finish ingests a crash cut off. Returns rows removed."""
        stamp = now()
        expired = await self.records.expired(stamp)
        for row in expired:
            await self._remove(row)
        for row in await self.records.stalled(stamp):
            await self._retry(row)
        await self.spool.prune(self.settings.expire_after_s)
        return len(expired)

    async def _retry(self, row: Row) -> None:
        token = uuid.uuid4().hex
        if not await self.records.take_lease(row["id"], token, self.settings.lease_s):
            return
        try:
            await self._finish(Principal(account_id=row["account_id"]), row, token)
        except PicshaError as error:
            log.info("upload %s ended with %s after a restart", row["id"], error.code)


def spool_root(data_dir: Path) -> Path:
    """Upload bytes live beside the blobs (not in tmp/, which is cleared at start-up)."""
    return data_dir / "uploads"
