"""Wake-ups between processes: "a job was queued" for workers, "a job changed" for waiters and SSE streams.

On PostgreSQL a change is a ``NOTIFY`` on one channel that every process ``LISTEN``s to; on SQLite there is
no such channel, so waiters poll the row with a short interval. Inside one process both wake at once.
A signal only says "look again": the row in the catalog is always what is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa

from engine.catalog import Catalog

log = logging.getLogger("picsha.jobs")

CHANNEL = "picsha_jobs"
NEW = "n"
CHANGED = "c"


class JobSignals:
    def __init__(self, catalog: Catalog, *, poll_s: float):
        self.catalog = catalog
        self.cross_process = not catalog.is_sqlite
        # Without a channel another process's change is only seen by reading again.
        self.poll_s = 5.0 if self.cross_process else poll_s
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._new = asyncio.Event()
        self._listener: Any = None

    async def start(self) -> None:
        if not self.cross_process:
            return
        import asyncpg

        url = self.catalog.engine.url.set(drivername="postgresql")
        try:
            self._listener = await asyncpg.connect(url.render_as_string(hide_password=False))
            await self._listener.add_listener(CHANNEL, self._heard)
        except (OSError, asyncpg.PostgresError):  # waiters fall back to polling
            log.exception("LISTEN %s failed; jobs are polled", CHANNEL)
            self._listener, self.poll_s = None, 1.0

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, job_id = payload.partition(":")
        self._wake(kind, job_id)

    def _wake(self, kind: str, job_id: str) -> None:
        if kind == NEW:
            self._new.set()
        for event in self._watchers.get(job_id, ()):
            event.set()

    async def queued(self, job_id: str) -> None:
        await self._send(NEW, job_id)

    async def changed(self, job_id: str) -> None:
        await self._send(CHANGED, job_id)

    async def _send(self, kind: str, job_id: str) -> None:
        self._wake(kind, job_id)
        if self.cross_process:
            async with self.catalog.begin() as conn:
                await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{kind}:{job_id}")))

    async def wait_new(self, timeout_s: float) -> None:
        """Return when a job was queued (here, or anywhere on PostgreSQL) or after ``timeout_s``."""
        try:
            await asyncio.wait_for(self._new.wait(), timeout_s)
        except TimeoutError:
            pass
        self._new.clear()

    @asynccontextmanager
    async def watching(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever ``job_id`` may have changed; clear it before reading the row again."""
        event = asyncio.Event()
        self._watchers.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers.get(job_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[job_id]
