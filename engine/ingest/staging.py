"""Stream incoming bytes to a staging file, hashing and counting as they arrive.

Nothing is held in memory beyond one chunk; the byte limit is enforced while streaming, so an oversized
upload is refused without being stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import anyio

from engine.errors import InvalidInput, TooLarge

# Smaller chunks are hashed and written on the event loop: microseconds into the page cache, less than the
# thread hop that would carry them (a scrape's files are mostly one chunk each).
INLINE_BYTES = 64 * 1024
# ... while the file is small: past this, a stalled disk (dirty pages being written back) would stall the loop.
INLINE_FILE_BYTES = 1024 * 1024


@dataclass
class StagedFile:
    path: Path
    size: int
    sha256: str
    # Set by a stager that saw every byte and found only ASCII without NUL: the sniffer then knows the
    # file is text without reading it again.
    ascii_text: bool = False
    # The file's own time where the source knows one (a local file's modification time): the asset's taken
    # time when its contents carry none (no EXIF, PDF or office date).
    modified_at: datetime | None = None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The file is larger than the maximum of {limit} bytes.", code="asset_file_too_large", max_bytes=limit
    )


class StagingWriter:
    """Push-style staging for callers that receive bytes in callbacks (a streaming multipart parser)."""

    def __init__(self, work_dir: Path, *, max_bytes: int):
        self.path = work_dir / f"staged-{uuid.uuid4().hex}"
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()
        self.handle = open(self.path, "wb")  # noqa: SIM115 - closed in finish()/abort()

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.abort()
            raise too_large(self.max_bytes)
        if len(chunk) < INLINE_BYTES and self.size <= INLINE_FILE_BYTES:
            self.digest.update(chunk)
            self.handle.write(chunk)
        else:  # a large chunk, or past the first MiB: hashed and written in a worker thread
            await anyio.to_thread.run_sync(self._hash_and_write, chunk)

    def _hash_and_write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.handle.write(chunk)

    def finish(self) -> StagedFile:
        self.handle.close()
        if self.size == 0:
            self.abort()
            raise InvalidInput("The uploaded file has zero bytes.", code="asset_file_empty")
        return StagedFile(path=self.path, size=self.size, sha256=self.digest.hexdigest())

    def abort(self) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)


async def stage(chunks: AsyncIterator[bytes], work_dir: Path, *, max_bytes: int) -> StagedFile:
    writer = StagingWriter(work_dir, max_bytes=max_bytes)
    try:
        async for chunk in chunks:
            await writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()
