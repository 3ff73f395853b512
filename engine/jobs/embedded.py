"""The embedded backend: workers claim job rows straight from the catalog (SQLite or PostgreSQL).

An idle worker looks again when a job is queued in its own process, on a ``NOTIFY`` from another process
(PostgreSQL), or after a poll that backs off from 20 ms to ``poll_max_s`` (SQLite has no channel), so a
job made by any process starts within a second.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from engine.jobs.signals import JobSignals

if TYPE_CHECKING:
    from engine.jobs.runner import JobRunner

log = logging.getLogger("picsha.jobs")

FIRST_POLL_S = 0.02


class EmbeddedDispatcher:
    def __init__(self, signals: JobSignals, poll_max_s: float):
        self.signals = signals
        self.poll_max_s = poll_max_s

    async def dispatch(self, job_id: str, run_after: datetime | None = None) -> None:
        """Nothing to hand over: the row is the queue. ``JobRunner.submit`` wakes the idle workers."""

    async def serve(self, runner: JobRunner, concurrency: int) -> None:
        from engine.jobs.runner import worker_name

        async with asyncio.TaskGroup() as group:
            for n in range(concurrency):
                group.create_task(self._work(runner, worker_name()), name=f"picsha-job-worker-{n}")

    async def _work(self, runner: JobRunner, owner: str) -> None:
        idle_s = FIRST_POLL_S
        while runner.accepting:
            try:
                ran = await runner.drain(owner)
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must survive anything one job or one catalog hiccup does
                log.exception("worker %s: running a job failed", owner)
                ran = 0
                await asyncio.sleep(idle_s)
            if ran:
                idle_s = FIRST_POLL_S
                continue
            if runner.accepting:
                await self.signals.wait_new(idle_s)
            idle_s = min(self.poll_max_s, idle_s * 2)

    async def close(self) -> None:
        return None
