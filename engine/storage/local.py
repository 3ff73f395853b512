"""Local-folder blob store: atomic writes (temporary file, fsync, rename, fsync of the folder)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import anyio

from engine.storage.base import READ_CHUNK, BlobStore, StoredBlob

LIST_PAGE = 1000


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(staged: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        staged.unlink(missing_ok=True)
        return
    with open(staged, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(staged, target)
    fsync_dir(target.parent)


class LocalBlobStore(BlobStore):
    name = "local"

    def __init__(self, root: Path, tmp_dir: Path):
        self.root = root
        self.tmp_dir = tmp_dir
        root.mkdir(parents=True, exist_ok=True)
        tmp_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    async def put_file(self, key: str, path: Path) -> None:
        await anyio.to_thread.run_sync(_publish, path, self._path(key))

    async def put_bytes(self, key: str, data: bytes) -> None:
        def write() -> None:
            staged = self.tmp_dir / f"blob-{uuid.uuid4().hex}"
            staged.write_bytes(data)
            _publish(staged, self._path(key))

        await anyio.to_thread.run_sync(write)

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        async with await anyio.open_file(path, "rb") as handle:
            await handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = await handle.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def read_bytes(self, key: str) -> bytes:
        # One worker-thread trip for the whole file (open, read, close), not one per step as ``read`` takes:
        # under load each trip waits for a worker thread behind the heavy ones.
        return await anyio.to_thread.run_sync(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        folder = self._path(prefix.rstrip("/"))
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))

    async def list_keys(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        within = prefix[: prefix.rfind("/") + 1]  # the folder holding every such key
        folder = self._path(within.rstrip("/")) if within.strip("/") else self.root.resolve()
        walk = self._walk(folder, self.root.resolve(), prefix)
        while page := await anyio.to_thread.run_sync(lambda: list(islice(walk, LIST_PAGE))):
            for blob in page:
                yield blob

    @staticmethod
    def _walk(folder: Path, root: Path, prefix: str) -> Iterator[StoredBlob]:
        """Files under ``folder`` whose key starts with ``prefix``; files removed meanwhile are skipped."""
        for parent, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(parent) / name
                key = path.relative_to(root).as_posix()
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                if key.startswith(prefix):
                    yield StoredBlob(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    @asynccontextmanager
    async def local_path(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(key)
        yield path
