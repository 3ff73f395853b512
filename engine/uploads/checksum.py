"""Chunk checksums (TUS checksum extension) and the whole file's SHA-256, fed as bytes are written."""

from __future__ import annotations

import hashlib
from typing import Any

from engine.errors import PicshaError
from engine.uploads.models import Checksum


class ChecksumMismatch(PicshaError):
    status = 460
    code = "upload_checksum_mismatch"


class ChunkDigests:
    """Hashes of the bytes written by one PATCH: the chunk's own checksum and the running file SHA-256.

    The running hash is copied before the chunk, so a discarded chunk leaves it as it was.
    """

    def __init__(self, checksum: Checksum | None, file_hash: Any | None):
        self.checksum = checksum
        self.chunk = hashlib.new(checksum.algorithm.value) if checksum else None
        self.file_hash = file_hash.copy() if file_hash is not None else None

    def update(self, data: bytes | memoryview) -> None:
        if self.chunk is not None:
            self.chunk.update(data)
        if self.file_hash is not None:
            self.file_hash.update(data)

    def verify(self) -> None:
        if self.checksum is None or self.chunk is None:
            return
        if self.chunk.digest() != self.checksum.digest:
            raise ChecksumMismatch(
                f"The chunk's {self.checksum.algorithm.value} checksum does not match Upload-Checksum; "
                "the chunk was discarded, send it again.",
                algorithm=self.checksum.algorithm.value,
            )
