"""Chunk checksums (TUS checksum extension) and the whole file's SHA-256, fed as bytes are written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from engine.errors import PicshaError
from engine.uploads.models import Checksum


class ChecksumMismatch(PicshaError):
    status = 460
    code = "upload_checksum_mismatch"


@dataclass(frozen=True)
class RunningFile:
    """What is known of an upload's bytes ``0..offset`` from watching them stream in.

    ``ascii_text``: every byte so far is 7-bit ASCII and none is NUL, which makes the file text by the
    ingest sniffer's rule, so the finished file need not be read again to find that out.
    """

    offset: int
    sha256: Any
    ascii_text: bool

    @classmethod
    def empty(cls) -> RunningFile:
        return cls(offset=0, sha256=hashlib.sha256(), ascii_text=True)


class ChunkDigests:
    """Hashes of the bytes written by one PATCH: the chunk's own checksum and the running file SHA-256.

    The running hash is copied before the chunk, so a discarded chunk leaves it as it was.
    """

    def __init__(self, checksum: Checksum | None, running: RunningFile | None):
        self.checksum = checksum
        self.chunk = hashlib.new(checksum.algorithm.value) if checksum else None
        self.file_hash = running.sha256.copy() if running is not None else None
        self.ascii_text = running is not None and running.ascii_text

    def update(self, data: bytes) -> None:
        if self.chunk is not None:
            self.chunk.update(data)
        if self.file_hash is not None:
            self.file_hash.update(data)
        # Only a text file pays for this scan: the first byte outside ASCII (at once in a binary file) ends it.
        if self.ascii_text and (not data.isascii() or b"\x00" in data):
            self.ascii_text = False

    def running(self, offset: int) -> RunningFile | None:
        """The file's running state once this chunk is in, ending at ``offset``."""
        if self.file_hash is None:
            return None
        return RunningFile(offset=offset, sha256=self.file_hash, ascii_text=self.ascii_text)

    def verify(self) -> None:
        if self.checksum is None or self.chunk is None:
            return
        if self.chunk.digest() != self.checksum.digest:
            raise ChecksumMismatch(
                f"The chunk's {self.checksum.algorithm.value} checksum does not match Upload-Checksum; "
                "the chunk was discarded, send it again.",
                algorithm=self.checksum.algorithm.value,
            )
