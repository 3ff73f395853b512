"""Storing new derivatives off the request path.

The blob write is fsync'd (the store's atomic-write contract), and on a busy disk that costs more than the
render itself. A derivative is a cache entry, not data the user gave us, so the answer goes out first:
until its blob and row are stored, a new derivative is served from memory, then from the store like any
other. ``settle()`` waits for the pending writes (tests, shutdown).

Deferred writes are stored in groups: the renders that finish while a group is being stored go in the next
one, with their blobs written at once and their rows in one transaction (``DerivativeCache.put_many``).
Under load every transaction waits its turn for the catalog's one writer (SQLite), where uploads wait too;
a transaction per render made those turns the longest queue in the server.

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


MOST_PER_GROUP = 64


@dataclass(frozen=True)
class _Deferred:
    asset_id: str
    account_id: str
    rendered: Rendered
    stored: Callable[[sa.Row, bytes], None]
    also: Also | None
    done: asyncio.Future[None]


class DerivativeWriter:
    def __init__(self, cache: DerivativeCache, *, largest_deferred: int, max_deferred_bytes: int):
        self.cache = cache
        self.largest_deferred = largest_deferred
        self.max_deferred_bytes = max_deferred_bytes
        self.deferred_bytes = 0
        self._fresh: dict[tuple[str, str], tuple[FreshRow, bytes]] = {}
        self._waiting: list[_Deferred] = []
        self._done: dict[str, asyncio.Future[None]] = {}  # blob key -> stored (or given up)
        self._flusher: asyncio.Task[None] | None = None

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
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._done[fresh.blob_key] = done
        self._waiting.append(_Deferred(asset_id, account_id, rendered, stored, also, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="picsha-derivative-writes")
        return fresh

    async def _flush(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MOST_PER_GROUP], self._waiting[MOST_PER_GROUP:]
            try:
                results: list[sa.Row | Exception] = await self.cache.put_many(
                    [(item.asset_id, item.account_id, item.rendered, item.also) for item in group])
            except Exception as error:  # the catalog failed the group: a lost cache entry is re-rendered next time
                results = [error] * len(group)
            for item, result in zip(group, results, strict=True):
                try:
                    await self._settled(item, result)
                finally:
                    self.deferred_bytes -= len(item.rendered.data)
                    self._fresh.pop((item.asset_id, item.rendered.params_hash), None)
                    self._done.pop(item.rendered.blob_key(item.asset_id), None)
                    if not item.done.done():
                        item.done.set_result(None)

    async def _settled(self, item: _Deferred, result: sa.Row | Exception) -> None:
        if isinstance(result, LookupError):
            return  # the asset was deleted meanwhile; the cache cleaned up after itself
        if isinstance(result, BlobNotStored):  # the answer went out, so its usage still counts
            log.error("storing a derivative of %s failed", item.asset_id, exc_info=result)
            await self._account_anyway(item.asset_id, item.also)
            return
        if isinstance(result, Exception):  # never take the server down
            log.error("storing a derivative of %s failed", item.asset_id, exc_info=result)
            return
        try:
            item.stored(result, item.rendered.data)
        except Exception:
            log.exception("remembering a stored derivative of %s failed", item.asset_id)

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
        done = self._done.get(blob_key)
        if done is not None:
            await asyncio.shield(done)

    async def settle(self) -> None:
        while self._flusher is not None and not self._flusher.done():  # (it takes what arrives meanwhile too)
            await asyncio.shield(self._flusher)
