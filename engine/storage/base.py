"""The blob-store contract every backend fulfils (and the shared test suite checks)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

READ_CHUNK = 1024 * 1024


def original_key(sha256: str) -> str:
    """Originals are content-addressed, so identical bytes are stored once."""
    return f"originals/{sha256[:2]}/{sha256}"


def derivatives_prefix(asset_id: str) -> str:
    """Every derivative of an asset lives under this prefix, so deleting the asset can clear them all,
    including one whose row was not yet visible when the asset's rows went."""
    return f"derivatives/{asset_id}/"


@dataclass(frozen=True)
class StoredBlob:
    """One blob as a listing sees it."""

    key: str
    size: int
    modified: datetime  # UTC


class BlobStore(ABC):
    """Blobs are written whole or not at all: a reader never sees a partial blob."""

    name: str

    @abstractmethod
    async def put_file(self, key: str, path: Path) -> None:
        """Move a staged local file (under the data folder's tmp/) into the store under ``key``.

        The staged file is consumed. Writing a key that already exists keeps the existing blob.
        """

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    async def size(self, key: str) -> int | None:
        """The blob's size, or None when there is no such blob."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``start``..``end`` (inclusive, like HTTP Range) of a blob."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove a blob; removing a missing blob is not an error."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with ``prefix`` (a folder-like prefix ending in ``/``)."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        """Every blob whose key starts with ``prefix`` (a folder-like prefix ending in ``/``, or ``""``), in
        pages read as the caller goes: a store of any size is walked without holding it all in memory."""

    @abstractmethod
    def local_path(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local file with the blob's bytes for libraries that need a path (libvips, PDFium).

        The local backend yields the stored file itself; remote backends download to a temporary file
        that is removed on exit.
        """

    async def read_bytes(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(key)])

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def close(self) -> None:
        return None
