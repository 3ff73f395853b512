"""A ZIP written as a stream: entries are added as they are ready and their bytes handed out at once.

The archive is never held whole in memory or on disk: each entry is compressed into a small buffer that is
drained after the entry (the ZIP's data descriptors make a seekable target unnecessary). Names are made
unique (``photo.jpg``, ``photo-2.jpg``) and kept to a plain file name.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

STORED_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif", ".heic", ".zip", ".pdf"}  # already compressed


class _Drain(io.RawIOBase):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


class ZipStream:
    """``add(name, data)`` and ``close()`` each return the archive bytes they produced."""

    def __init__(self) -> None:
        self._drain = _Drain()
        self._zip = zipfile.ZipFile(self._drain, mode="w", compression=zipfile.ZIP_DEFLATED)  # type: ignore[arg-type]
        self._names: set[str] = set()

    def unique(self, name: str) -> str:
        plain = PurePosixPath(name.replace("\\", "/")).name.lstrip(".") or "file"
        stem, suffix = PurePosixPath(plain).stem, PurePosixPath(plain).suffix
        candidate, number = plain, 1
        while candidate in self._names:
            number += 1
            candidate = f"{stem}-{number}{suffix}"
        self._names.add(candidate)
        return candidate

    def add(self, name: str, data: bytes) -> bytes:
        entry = self.unique(name)
        method = zipfile.ZIP_STORED if PurePosixPath(entry).suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
        self._zip.writestr(entry, data, compress_type=method)
        return self._drain.take()

    def close(self) -> bytes:
        self._zip.close()
        return self._drain.take()
