"""The catalog database: an async SQLAlchemy engine with SQLite tuned for one-folder use."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from engine.catalog.migrations import migrate
from engine.errors import Busy


class _SQLiteConnection(sqlite3.Connection):
    """A connection that ends its unfinished statements before it closes.

    A task cancelled between running ``UPDATE ... RETURNING`` and reading its rows (the async driver does the
    two in separate steps) leaves that statement open, and SQLAlchemy then drops the connection. Python's
    ``close()`` does not reset open statements, so SQLite keeps the connection half-closed with its write
    transaction, and its lock, until the garbage collector finds the cursor: every other writer meanwhile
    waits out its busy timeout and fails.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    def cursor(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        cursor = super().cursor(*args, **kwargs)
        self._cursors.add(cursor)
        return cursor

    def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        return self.cursor().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        return self.cursor().executemany(*args, **kwargs)

    def close(self) -> None:
        for cursor in list(self._cursors):
            cursor.close()
        super().close()


SQLITE_CONNECT_ARGS = {"factory": _SQLiteConnection}


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def read_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson (a few times faster than ``json``, the most of a list's read time), and
    ``json`` for what orjson refuses but the catalog may hold (integers past 64 bits in metadata)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


JSON_OPTIONS = {"json_deserializer": read_json}


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the catalog stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")
READER_THREADS = 4  # SQLite reads on the request path: bounded, so a read never waits on a thread pool of its own
POOL_WAIT_S = 10.0  # a request that cannot get a connection this soon is told to come back (503), not queued on
# A read of one kind that last took less CPU than this runs where it is awaited: under load a thread round trip
# waits for the scheduler (a 20-row page's p99 went from ~45 to ~15 ms inside the app with 16 clients), while
# the loop can afford a read this short.
QUICK_READ_S = 0.002
QUICK_READ_KINDS = 10_000  # read kinds whose last cost is remembered (forgotten all at once past this)


def _busy(error: Exception) -> Busy:
    return Busy("The catalog is busy with other requests; try again shortly.", code="catalog_busy", retry_after=1,
                reason=type(error).__name__)


def _is_lock_timeout(error: sa.exc.OperationalError) -> bool:
    """SQLite's busy timeout ran out (another process held the write lock all along)."""
    return "database is locked" in str(error.orig) or "database is busy" in str(error.orig)


class Catalog:
    def __init__(self, url: str, *, echo: bool = False, pool_wait_s: float = POOL_WAIT_S):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"echo": echo, "pool_timeout": pool_wait_s, **JSON_OPTIONS}
        if self.is_sqlite:
            options.update(pool_size=10, max_overflow=10, connect_args=SQLITE_CONNECT_ARGS)  # WAL readers side by side
        else:
            options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self.pool_wait_s = pool_wait_s
        # SQLite lets one transaction write at a time and puts the others to sleep in its busy handler (1, 2,
        # 5, 10 ... 100 ms a try): the transactions of one process take turns here instead, in order, and
        # only other processes meet the busy handler.
        self._writer = asyncio.Lock() if self.is_sqlite else None
        self._writer_task: asyncio.Task[Any] | None = None
        if self.is_sqlite:
            sa.event.listen(self.engine.sync_engine, "connect", _tune_sqlite)
        # Reads on the request path (key lookups, an asset by id, a page of assets) on SQLite: the async driver
        # makes a thread round trip per cursor call (~8 per query, 0.4-0.5 ms), the standard driver on a
        # thread of its own does the whole read in one trip (~0.15 ms).
        self._sync_reads: sa.Engine | None = None
        self._point_reads: sa.Engine | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._read_cost: dict[Hashable, float] = {}  # a read kind's last CPU seconds (``read(kind=...)``)
        if self.is_sqlite and self.engine.url.database not in (None, "", ":memory:"):  # a file both can open
            self._sync_reads = sa.create_engine(
                self.engine.url.set(drivername="sqlite"), pool_size=READER_THREADS, max_overflow=0,
                pool_timeout=pool_wait_s, **JSON_OPTIONS,
            )
            sa.event.listen(self._sync_reads, "connect", _tune_sqlite)
            self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="catalog-read")
            # Point reads (one row by its key) run where they are awaited, on a connection of that thread's
            # own: a thread round trip costs two wake-ups, and on a busy machine each waits for the scheduler
            # behind the threads that compute (tens of ms), while the read itself takes ~0.1 ms.
            # (pool: one connection per process is the usual need; never a wait for one, which would hold the loop)
            self._point_reads = sa.create_engine(
                self.engine.url.set(drivername="sqlite"), pool_size=2, max_overflow=-1, **JSON_OPTIONS,
            )
            sa.event.listen(self._point_reads, "connect", _tune_sqlite)

    async def migrate(self, *, target: int | None = None) -> list[int]:
        async with self.engine.begin() as conn:
            return await conn.run_sync(lambda sync: migrate(sync, target=target))

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction: committed on exit, rolled back on error. Overload is ``Busy`` (503), never a 500."""
        try:
            async with self._writing(), self.engine.begin() as conn:
                yield conn
        except sa.exc.TimeoutError as error:  # no connection free within POOL_WAIT_S
            raise _busy(error) from error
        except sa.exc.OperationalError as error:
            if _is_lock_timeout(error):
                raise _busy(error) from error
            raise

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        if self._writer is None:
            yield
            return
        task = asyncio.current_task()
        if task is not None and task is self._writer_task:
            raise RuntimeError("catalog.begin() inside another catalog.begin() of the same task would wait forever")
        try:
            async with asyncio.timeout(self.pool_wait_s):
                await self._writer.acquire()
        except TimeoutError as error:
            raise _busy(error) from error
        self._writer_task = task
        try:
            yield
        finally:
            self._writer_task = None
            self._writer.release()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                yield conn
        except sa.exc.TimeoutError as error:
            raise _busy(error) from error

    async def read(self, work: Callable[[sa.Connection], T], *, kind: Hashable | None = None) -> T:
        """``work(connection)``: a read (no writes) of a few statements, in one trip.

        On SQLite it runs on a reader thread over the standard driver; on other databases on a pooled async
        connection through ``run_sync``. Either way ``work`` is plain synchronous SQLAlchemy and holds the
        connection only while its statements run. Overload is ``Busy`` (503), never a 500.

        ``kind`` names reads of one shape and size (a page of one account's assets): on SQLite, when the last
        read of that kind took under ``QUICK_READ_S`` of CPU, this one runs on the calling thread as a
        ``lookup`` does; one that grows slower (a large account's count) goes back to the reader threads.
        """
        if self._sync_reads is None or self._readers is None:
            async with self.connect() as conn:
                return await conn.run_sync(work)
        if kind is None:
            return await asyncio.get_running_loop().run_in_executor(self._readers, self._read_sync, work)
        if self._read_cost.get(kind, math.inf) < QUICK_READ_S:
            return self._timed(kind, self._point_read, work)
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._timed, kind, self._read_sync, work)

    def _timed(self, kind: Hashable, reading: Callable[[Callable[[sa.Connection], T]], T],
               work: Callable[[sa.Connection], T]) -> T:
        started = time.thread_time()  # the read's own CPU: waits for the GIL or the scheduler are not its cost
        result = reading(work)
        if len(self._read_cost) >= QUICK_READ_KINDS:
            self._read_cost.clear()
        self._read_cost[kind] = time.thread_time() - started
        return result

    async def lookup(self, work: Callable[[sa.Connection], T]) -> T:
        """``work(connection)``: a read of one row by its primary or a unique key (an index seek).

        On SQLite it runs at once on the calling thread (WAL readers never wait for writers); elsewhere it
        is a ``read``. Nothing larger belongs here: it holds the event loop while it runs.
        """
        if self._point_reads is None:
            return await self.read(work)
        return self._point_read(work)

    def _point_read(self, work: Callable[[sa.Connection], T]) -> T:
        assert self._point_reads is not None
        try:
            with self._point_reads.connect() as conn:
                return work(conn)
        except sa.exc.OperationalError as error:
            if _is_lock_timeout(error):
                raise _busy(error) from error
            raise

    def _read_sync(self, work: Callable[[sa.Connection], T]) -> T:
        assert self._sync_reads is not None
        try:
            with self._sync_reads.connect() as conn:
                return work(conn)
        except sa.exc.TimeoutError as error:
            raise _busy(error) from error

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync_reads is not None and self._readers is not None:
            self._readers.shutdown(wait=True)
            self._sync_reads.dispose()
        if self._point_reads is not None:
            self._point_reads.dispose()
