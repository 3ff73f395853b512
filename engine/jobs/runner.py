"""In-process job runner: jobs live in the catalog's ``jobs`` table, workers are asyncio tasks.

A job is written before it is queued, so a crash loses nothing: at start the runner puts every job that
was queued or running back in the queue (a running job starts again from its first step; steps are
written to be repeatable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import NotFound
from engine.ids import IdPrefix, new_id
from engine.jobs.context import JobContext
from engine.jobs.models import FINISHED, Job, JobStatus, StepResult
from engine.jobs.settings import JobSettings

log = logging.getLogger("picsha.jobs")

Handler = Callable[[JobContext], Awaitable[None]]


def job_not_found(job_id: str) -> NotFound:
    return NotFound(f"No job {job_id!r} in this account.", code="job_not_found", id=job_id)


class JobRunner:
    def __init__(self, catalog: Catalog, settings: JobSettings):
        self.catalog = catalog
        self.settings = settings
        self.handlers: dict[str, Handler] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._finished: dict[str, asyncio.Event] = {}
        self._workers: list[asyncio.Task[None]] = []

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def start(self) -> None:
        """Resume what a previous process left queued or running, then start the workers."""
        j = tables.jobs
        async with self.catalog.begin() as conn:
            await conn.execute(j.update().where(j.c.status == JobStatus.RUNNING.value).values(status=JobStatus.QUEUED.value))
            pending = (await conn.execute(
                sa.select(j.c.id).where(j.c.status == JobStatus.QUEUED.value).order_by(j.c.created_at)
            )).scalars().all()
        for job_id in pending:
            self._queue.put_nowait(job_id)
        if pending:
            log.info("resuming %d jobs", len(pending))
        self._workers = [asyncio.create_task(self._work(), name=f"picsha-job-worker-{n}") for n in range(self.settings.workers)]

    async def close(self) -> None:
        """Stop the workers; a job cut short stays ``running`` in the catalog and is resumed at next start."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    # -- queueing and reading ------------------------------------------------------------------

    async def enqueue(self, *, account_id: str, kind: str, asset_id: str | None = None,
                      payload: dict[str, Any] | None = None) -> str:
        async with self.catalog.begin() as conn:
            job_id = await self.create(conn, account_id=account_id, kind=kind, asset_id=asset_id, payload=payload)
        self.submit(job_id)
        return job_id

    async def create(self, conn: AsyncConnection, *, account_id: str, kind: str, asset_id: str | None = None,
                     payload: dict[str, Any] | None = None) -> str:
        """Write a queued job inside the caller's transaction (so it exists exactly when their rows do)."""
        job_id = new_id(IdPrefix.JOB)
        await conn.execute(tables.jobs.insert().values(
            id=job_id, account_id=account_id, asset_id=asset_id, kind=kind, status=JobStatus.QUEUED.value,
            payload=payload or {}, steps=[], attempts=0, created_at=now(),
        ))
        return job_id

    def submit(self, job_id: str) -> None:
        """Hand a committed job to the workers."""
        self._finished.setdefault(job_id, asyncio.Event())
        self._queue.put_nowait(job_id)

    async def get(self, account_id: str, job_id: str) -> Job:
        j = tables.jobs
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(j).where(j.c.id == job_id, j.c.account_id == account_id))).first()
        if row is None:
            raise job_not_found(job_id)
        return _model(row)

    async def latest_for_asset(self, account_id: str, asset_id: str) -> Job | None:
        j = tables.jobs
        query = (sa.select(j).where(j.c.account_id == account_id, j.c.asset_id == asset_id)
                 .order_by(j.c.created_at.desc()).limit(1))
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        return _model(row) if row else None

    async def wait(self, job_id: str, timeout_s: float) -> bool:
        """True when the job finished within ``timeout_s``."""
        event = self._finished.setdefault(job_id, asyncio.Event())
        async with self.catalog.connect() as conn:
            status = await conn.scalar(sa.select(tables.jobs.c.status).where(tables.jobs.c.id == job_id))
        if status in {s.value for s in FINISHED}:
            return True
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    # -- running -------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                await self._run(job_id)
            except Exception:  # the worker must survive anything one job does
                log.exception("job %s crashed the runner", job_id)
            finally:
                self._finished.setdefault(job_id, asyncio.Event()).set()

    async def _run(self, job_id: str) -> None:
        j = tables.jobs
        async with self.catalog.begin() as conn:
            row = (await conn.execute(sa.select(j).where(j.c.id == job_id))).first()
            if row is None or row.status in {s.value for s in FINISHED}:
                return
            attempts = row.attempts + 1
            await conn.execute(j.update().where(j.c.id == job_id).values(
                status=JobStatus.RUNNING.value, attempts=attempts, started_at=now(), steps=[], error=None,
            ))
        handler = self.handlers.get(row.kind)
        if handler is None:
            return await self._finish(job_id, f"no handler for job kind {row.kind!r}")
        if attempts > self.settings.max_attempts:
            return await self._finish(job_id, f"gave up after {self.settings.max_attempts} starts")
        context = JobContext(
            id=job_id, kind=row.kind, account_id=row.account_id, asset_id=row.asset_id,
            payload=dict(row.payload or {}), save_steps=lambda steps: self._save_steps(job_id, steps),
        )
        try:
            await handler(context)
        except Exception as exc:
            log.exception("job %s failed outside a step", job_id)
            return await self._finish(job_id, f"{type(exc).__name__}: {exc}"[:500])
        failed = context.failed_step
        await self._finish(job_id, f"step {failed.name!r} failed: {failed.error}" if failed else None)

    async def _save_steps(self, job_id: str, steps: list[StepResult]) -> None:
        async with self.catalog.begin() as conn:
            await conn.execute(tables.jobs.update().where(tables.jobs.c.id == job_id)
                               .values(steps=[step.model_dump() for step in steps]))

    async def _finish(self, job_id: str, error: str | None) -> None:
        status = JobStatus.FAILED if error else JobStatus.READY
        async with self.catalog.begin() as conn:
            await conn.execute(tables.jobs.update().where(tables.jobs.c.id == job_id)
                               .values(status=status.value, error=error, finished_at=now()))


def _model(row: sa.Row) -> Job:
    return Job(
        id=row.id, kind=row.kind, status=row.status, asset_id=row.asset_id, payload=row.payload or {},
        steps=[StepResult(**step) for step in row.steps or []], error=row.error, attempts=row.attempts,
        created_at=utc(row.created_at), started_at=utc(row.started_at), finished_at=utc(row.finished_at),
    )
