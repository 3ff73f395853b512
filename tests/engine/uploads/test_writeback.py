"""Early write-out of spool files: the bytes stay exactly as written, and a refusal never breaks a write."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from engine.uploads.checksum import ChunkDigests, RunningFile
from engine.uploads.spool import FLUSH_BYTES, ChunkWriter
from engine.uploads.writeback import _sync_file_range, start_writeback


def test_started_writeback_keeps_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "spool.bin"
    data = os.urandom(3 * 1024 * 1024)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        start_writeback(fd, 0, len(data))
        start_writeback(fd, len(data), 0)  # an empty range is not an error
        os.fsync(fd)
    finally:
        os.close(fd)
    assert path.read_bytes() == data


def test_a_refused_writeback_is_silent() -> None:
    """A bad descriptor: the kernel refuses the write-out, and the caller gets neither an error nor a result."""
    ctypes.set_errno(0)
    assert start_writeback(-1, 0, 4096) is None
    if _sync_file_range() is not None:  # Linux: the kernel was asked, and said no
        assert ctypes.get_errno() == errno.EBADF
    ctypes.set_errno(0)
    assert start_writeback(-1, 0, 0) is None
    assert ctypes.get_errno() == 0, "an empty range is not even asked for"


async def test_chunk_writer_with_writeback_writes_and_hashes_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "spool.bin"
    pieces = [os.urandom(FLUSH_BYTES // 3 + n) for n in range(7)]  # buffers end mid-piece

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    digests = ChunkDigests(None, RunningFile.empty())
    writer = ChunkWriter(path, 0, digests, limit=10 * FLUSH_BYTES, max_bytes=10 * FLUSH_BYTES, writeback=True)

    class Held:
        lost = False

        async def hold(self) -> None:
            return None

    data = b"".join(pieces)
    assert await writer.run(body(), Held()) == len(data)
    assert path.read_bytes() == data
    running = digests.running(len(data))
    assert running is not None and running.ascii_text is False
    assert running.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
