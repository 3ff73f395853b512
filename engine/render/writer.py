"""Storing new derivatives off the request path.

The blob write is fsync'd (the store's atomic-write contract), and on a busy disk that costs more than the
render itself. A derivative is a cache entry, not data the user gave us, so the answer goes out first:
until its blob and row are stored, a new derivative is served from memory, then from the store like any
other. ``settle()`` waits for the pending writes (tests, shutdown).

The bytes waiting to be stored are bounded: when the store is slower than renders arrive and the waiting
bytes would pass ``max_deferred_bytes``, a render is stored before its answer instead (back-pressure on the
request, not an ever-growing queue in memory).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from engine.render.cache import Also, BlobNotStored, DerivativeCache, Rendered

log = logging.getLogger("picsha.render")


@dataclass(frozen=True)
class FreshRow:
    """A derivative not yet stored, with the fields of a ``derivatives`` row that an answer needs."""

    blob_key: str
    params_hash: str
    content_type: str
    size: int
    width: int
    height: int


class DerivativeWriter:
    def __init__(self, cache: DerivativeCache, *, largest_deferred: int, max_deferred_bytes: int):
        self.cache = cache
        self.largest_deferred = largest_deferred
        self.max_deferred_bytes = max_deferred_bytes
        self.deferred_bytes = 0
        self._fresh: dict[tuple[str, str], tuple[FreshRow, bytes]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def row(self, asset_id: str, params_hash: str) -> FreshRow | None:
        entry = self._fresh.get((asset_id, params_hash))
        return entry[0] if entry else None

    def data(self, asset_id: str, params_hash: str) -> bytes | None:
        entry = self._fresh.get((asset_id, params_hash))
        return entry[1] if entry else None

    async def store(
        self, asset_id: str, account_id: str, rendered: Rendered, stored: Callable[[sa.Row, bytes], None],
        also: Also | None = None,
    ) -> sa.Row | FreshRow:
        """Store now (large outputs, which are streamed from the store) or after the answer (the rest);
        ``also`` runs in the row's transaction."""
        size = len(rendered.data)
        if size > self.largest_deferred or self.deferred_bytes + size > self.max_deferred_bytes:
            row = await self.cache.put(asset_id, account_id, rendered, also)
            stored(row, rendered.data)
            return row
        fresh = FreshRow(
            blob_key=rendered.blob_key(asset_id), params_hash=rendered.params_hash, content_type=rendered.content_type,
            size=len(rendered.data), width=rendered.width, height=rendered.height,
        )
        self._fresh[(asset_id, rendered.params_hash)] = (fresh, rendered.data)
        self.deferred_bytes += size
        task = asyncio.create_task(self._write(asset_id, account_id, rendered, stored, also))
        self._tasks[fresh.blob_key] = task
        return fresh

    async def _write(
        self, asset_id: str, account_id: str, rendered: Rendered, stored: Callable[[sa.Row, bytes], None],
        also: Also | None,
    ) -> None:
        try:
            row = await self.cache.put(asset_id, account_id, rendered, also)
            stored(row, rendered.data)
        except LookupError:
            pass  # the asset was deleted meanwhile; the cache cleaned up after itself
        except BlobNotStored:  # the answer went out, so its usage still counts
            log.exception("storing a derivative of %s failed", asset_id)
            await self._account_anyway(asset_id, also)
        except Exception:  # a lost cache entry is re-rendered next time; never take the server down
            log.exception("storing a derivative of %s failed", asset_id)
        finally:
            self.deferred_bytes -= len(rendered.data)
            self._fresh.pop((asset_id, rendered.params_hash), None)
            self._tasks.pop(rendered.blob_key(asset_id), None)

    async def _account_anyway(self, asset_id: str, also: Also | None) -> None:
        """The render was served although its blob could not be stored: its usage row is written alone."""
        if also is None:
            return
        try:
            async with self.cache.catalog.begin() as conn:
                await also(conn)
        except Exception:  # the catalog itself is failing; the error above is already logged
            log.warning("the usage of a render of %s could not be recorded either", asset_id)

    async def wait(self, blob_key: str) -> None:
        """Wait until this derivative's blob is in the store (for answers streamed from it)."""
        task = self._tasks.get(blob_key)
        if task is not None:
            await asyncio.shield(task)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
