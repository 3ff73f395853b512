"""Where an unfinished upload's bytes live. ``LocalSpool`` appends to one file in the data folder;
the S3 spool (``s3_spool.py``) keeps a local tail and ships full parts as S3 multipart parts.

A chunk is written in bounded buffers (never held whole in memory), hashed as it is written, and cut
back to its start offset when it is refused (checksum mismatch, over the size limit, a failed write).
Each buffer goes to disk only under the writer's lease (``lease.py``); a writer that lost its lease
leaves the file alone: it belongs to the writer holding the lease now.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import anyio

from engine.errors import PicshaError
from engine.ingest.staging import too_large
from engine.uploads.checksum import ChunkDigests
from engine.uploads.writeback import start_writeback

# Small enough that a buffer is still in the CPU cache when it is written and hashed, and that freed
# buffers are reused rather than returned to the OS and faulted in again; large enough that the trips to
# the worker thread stay cheap (measured: 256 KiB and 4 MiB did worse, 1 MiB no better).
FLUSH_BYTES = 512 * 1024
IOV_MAX = 512
SpoolState = dict[str, Any]


class Lease(Protocol):
    """The writer's hold on the upload: ``hold()`` before bytes go to disk (it raises once the lease is lost)."""

    @property
    def lost(self) -> bool: ...

    async def hold(self) -> None: ...


class ChunkWriter:
    """Appends one chunk to a file at ``start``; two buffers, so the disk write overlaps the next receive.

    With ``writeback``, each buffer's write-out to the disk starts as soon as it is written (see
    ``writeback.py``), for files that will be fsync'd as they are.
    """

    def __init__(
        self, path: Path, start: int, digests: ChunkDigests, limit: int, max_bytes: int, *, writeback: bool = False
    ):
        self.path, self.start, self.digests = path, start, digests
        self.limit, self.max_bytes, self.writeback = limit, max_bytes, writeback
        self.written = 0
        self.flushed = 0  # bytes handed to the write thread so far
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        if os.fstat(self.fd).st_size < start:  # never pad a lost file with zeros
            os.close(self.fd)
            raise bytes_missing(path.stem)
        # Bytes past the committed offset come from a writer that crashed: they are not part of the upload.
        os.ftruncate(self.fd, start)
        os.lseek(self.fd, start, os.SEEK_SET)
        self.pending: asyncio.Future[None] | None = None

    def _write(self, parts: list[bytes], at: int) -> None:
        """``writev`` the received pieces as they are (no joining copy); finish a short write by hand."""
        if len(parts) > IOV_MAX:
            parts = [b"".join(parts)]
        done = os.writev(self.fd, parts)
        total = sum(len(part) for part in parts)
        if done < total:
            rest = memoryview(b"".join(parts))[done:]
            while rest:
                rest = rest[os.write(self.fd, rest) :]
        if self.writeback:
            start_writeback(self.fd, at, total)

    def _store(self, parts: list[bytes], at: int) -> None:
        """Write and hash one buffer in one trip to a worker thread: a trip costs more than the hashing
        would gain from running beside the write on a second thread."""
        self._write(parts, at)
        for part in parts:
            self.digests.update(part)

    async def _flush(self, parts: list[bytes], lease: Lease) -> None:
        if self.pending is not None:
            await self.pending
            self.pending = None
        if parts:
            await lease.hold()
            # Writing and hashing release the GIL: they run while the next bytes arrive.
            at = self.start + self.flushed
            self.flushed += sum(len(part) for part in parts)
            self.pending = asyncio.ensure_future(anyio.to_thread.run_sync(self._store, parts, at))

    async def run(self, chunks: AsyncIterator[bytes], lease: Lease) -> int:
        try:
            parts: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                self.written += len(chunk)
                if self.written > self.limit:
                    raise too_large(self.max_bytes)
                parts.append(chunk)
                buffered += len(chunk)
                if buffered >= FLUSH_BYTES:
                    await self._flush(parts, lease)
                    parts, buffered = [], 0
            await self._flush(parts, lease)
            await self._flush([], lease)
            self.digests.verify()
            return self.written
        except BaseException:
            with anyio.CancelScope(shield=True):  # the fd stays open until the write in flight is done
                await self._drain()
            if not lease.lost:
                os.ftruncate(self.fd, self.start)
            raise
        finally:
            os.close(self.fd)

    async def _drain(self) -> None:
        if self.pending is not None:
            try:
                await self.pending
            except Exception:  # noqa: BLE001 - the chunk is being discarded anyway
                pass
            self.pending = None


def bytes_missing(upload_id: str) -> PicshaError:
    return PicshaError(
        f"The bytes of upload {upload_id!r} are gone from the server's disk; start a new upload.",
        code="upload_bytes_missing", status=410,
    )


def fit(path: Path, upload_id: str, size: int) -> None:
    """Cut bytes a crashed writer left past the committed offset; refuse a file that lost bytes."""
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        actual = 0
        if size == 0:
            path.touch()
    if actual < size:
        raise bytes_missing(upload_id)
    if actual > size:
        os.truncate(path, size)


class Spool:
    """The interface both backends fulfil; ``state`` is kept in the upload's catalog row."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)

    def path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.bin"

    async def write(
        self, upload_id: str, state: SpoolState, start: int, chunks: AsyncIterator[bytes], *,
        limit: int, digests: ChunkDigests, lease: Lease, ingest_at: int | None = None,
    ) -> tuple[int, SpoolState]:
        """Append a chunk at ``start``; returns the bytes written and the new state for the row.

        ``ingest_at``: the upload's length when this request goes on to ingest it as soon as its last byte is
        in (None for a partial upload, which waits to be joined, or a length not yet known).
        """
        raise NotImplementedError

    async def materialize(self, upload_id: str, state: SpoolState, size: int) -> Path:
        """A local file (on the data folder's filesystem) with the upload's ``size`` bytes, for ingest to consume."""
        raise NotImplementedError

    async def discard(self, upload_id: str, state: SpoolState) -> None:
        raise NotImplementedError

    async def prune(self, idle_s: float) -> int:
        """Remove local files idle for ``idle_s`` that an upload can do without; returns how many."""
        return 0


class LocalSpool(Spool):
    async def write(
        self, upload_id: str, state: SpoolState, start: int, chunks: AsyncIterator[bytes], *,
        limit: int, digests: ChunkDigests, lease: Lease, ingest_at: int | None = None,
    ) -> tuple[int, SpoolState]:
        # the file becomes the asset's blob, fsync'd then: its write-out starts while the bytes arrive
        writer = ChunkWriter(self.path(upload_id), start, digests, limit, self.max_bytes, writeback=True)
        return await writer.run(chunks, lease), state

    async def materialize(self, upload_id: str, state: SpoolState, size: int) -> Path:
        path = self.path(upload_id)
        fit(path, upload_id, size)
        return path

    async def discard(self, upload_id: str, state: SpoolState) -> None:
        self.path(upload_id).unlink(missing_ok=True)
