"""The distributed backend: procrastinate on PostgreSQL delivers job ids to ``picsha worker`` processes.

The catalog row stays the one record of a job; a procrastinate job only says "run Picsha job X". One task,
``picsha.run_job``, claims the row with ``JobRunner.execute`` and runs it exactly as the embedded backend
does, so leases, retries, cancelling and progress behave the same on both.

A delivery is deferred with ``queueing_lock=<job id>``: at most one is waiting per job. A delivery that
finds its job running under another worker's live lease, or not yet due, defers itself again for then.
Every worker also reconciles every few seconds: jobs the catalog says could run now (queued and due, or
running under a lease that lapsed) and that no waiting delivery covers are deferred again. That recovers
the jobs of a worker that was killed (its procrastinate job stays ``doing``; those are dropped once its
heartbeat is stale) and jobs whose defer was lost between the commit and the defer. Running it in every
worker at once is safe: the queueing lock keeps one delivery per job, and the claim lets one worker run it.

No procrastinate ``lock`` is used: a killed worker's ``doing`` job would hold it and block the recovery.
The schema is applied when missing; after upgrading procrastinate, apply its migrations (``procrastinate
schema --migrations-path`` shows where they are).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager

from engine.catalog import Catalog
from engine.catalog.database import now
from engine.jobs.runner import JobRunner, worker_name
from engine.jobs.settings import JobSettings

log = logging.getLogger("picsha.jobs")

TASK_NAME = "picsha.run_job"
FETCH_POLL_S = 1.0  # a delivery scheduled for later (a retry) is seen by this poll: it has no NOTIFY when due
ACCEPTING_CHECK_S = 0.1
REDEFER_MARGIN_S = 0.25  # look again just after the lease ends (or the job is due), not at the same instant
RECONCILE_LIMIT = 500
STALLED_S = 60.0  # procrastinate heartbeats every 10 s; a worker silent this long is gone

# Statements on procrastinate's own table (its schema has had these columns since 1.0).
_WAITING = """
SELECT queueing_lock FROM procrastinate_jobs
 WHERE status = 'todo' AND queueing_lock = ANY(%(locks)s)
   AND (scheduled_at IS NULL OR scheduled_at <= now() + interval '1 second')
"""
_EARLIER = """
UPDATE procrastinate_jobs SET scheduled_at = %(at)s
 WHERE queueing_lock = %(lock)s AND status = 'todo' AND scheduled_at > COALESCE(%(at)s::timestamptz, now())
"""
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('picsha.procrastinate.schema'))"
_SCHEMA_THERE = "SELECT to_regclass('procrastinate_jobs')"


def libpq_dsn(url: str) -> str:
    """A libpq connection string (psycopg) from a SQLAlchemy URL such as ``postgresql+asyncpg://...``."""
    if "://" not in url:
        return url  # already ``host=... dbname=...``
    parsed = sa.engine.make_url(url)
    query = dict(parsed.query)
    ssl = query.pop("ssl", None)  # asyncpg's name for it
    if ssl is not None and "sslmode" not in query:
        query["sslmode"] = {"true": "require", "false": "disable"}.get(str(ssl).lower(), ssl)
    return parsed.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


class DistributedDispatcher:
    def __init__(self, dsn: str, settings: JobSettings):
        self.queue = settings.queue
        self.reconcile_s = min(5.0, max(1.0, settings.lease_s / 2))
        self.connector = PsycopgConnector(conninfo=dsn, min_size=1, max_size=settings.workers + 4)
        self.app = App(connector=self.connector)
        self.task = self.app.task(name=TASK_NAME, queue=self.queue)(self._deliver)
        self._runner: JobRunner | None = None
        self._delivering: set[asyncio.Task[Any]] = set()
        # Set when serve() is cancelled: a delivery procrastinate starts after that (its graceful stop still runs
        # jobs it had fetched) must not claim the job that the cancel just gave back, and then run it for nobody.
        self._cancelled = False
        self._declined = asyncio.Event()  # a delivery came after this process stopped taking jobs

    @classmethod
    async def open(cls, catalog: Catalog, settings: JobSettings) -> DistributedDispatcher:
        if catalog.is_sqlite:
            raise ValueError(
                "PICSHA_JOBS__BACKEND=distributed needs a PostgreSQL catalog (PICSHA_CATALOG__URL="
                "postgresql+asyncpg://...): job rows live in the catalog, which every worker must reach"
            )
        dispatcher = cls(libpq_dsn(settings.distributed_dsn or catalog.url), settings)
        await dispatcher.app.open_async()
        try:
            await dispatcher.ensure_schema()
        except BaseException:
            await dispatcher.close()
            raise
        return dispatcher

    async def ensure_schema(self) -> None:
        """Apply procrastinate's schema once; processes starting together wait on one advisory lock."""
        async with self.connector.pool.connection() as conn, conn.transaction():
            await conn.execute(_SCHEMA_LOCK)
            there = await (await conn.execute(_SCHEMA_THERE)).fetchone()
            if there is None or there[0] is None:
                log.info("applying procrastinate's schema")
                await conn.execute(SchemaManager.get_schema())

    async def close(self) -> None:
        await self.app.close_async()

    # -- handing jobs over -------------------------------------------------------------------------------

    async def dispatch(self, job_id: str, run_after: datetime | None = None) -> None:
        at = run_after if run_after is not None and run_after > now() else None
        try:
            await self.task.configure(queueing_lock=job_id, schedule_at=at).defer_async(job_id=job_id)
        except AlreadyEnqueued:  # one delivery already waits: make sure it is not later than this one
            await self.connector.execute_query_async(query=_EARLIER, lock=job_id, at=at)

    async def _deliver(self, job_id: str) -> None:
        """The procrastinate task: run the job, or look again when it could run."""
        runner = self._runner
        if runner is None:
            raise RuntimeError(f"job {job_id} was delivered to a process that is not serving jobs")
        current = asyncio.current_task()
        assert current is not None
        self._delivering.add(current)
        try:
            if not runner.accepting or self._cancelled:  # fetched as this worker stops: leave it to another one
                self._declined.set()
                await self.dispatch(job_id)
                return
            if await runner.execute(worker_name(), job_id) is not None:
                return
            at = await runner.store.next_chance(job_id)
            if at is not None:  # running under another worker's live lease, or not due yet
                await self.dispatch(job_id, max(at, now()) + timedelta(seconds=REDEFER_MARGIN_S))
        finally:
            self._delivering.discard(current)

    # -- running jobs here ---------------------------------------------------------------------------------

    async def serve(self, runner: JobRunner, concurrency: int) -> None:
        """Run a procrastinate worker until cancelled, or until ``runner.accepting`` turns False: then it takes
        no new jobs and returns once the running ones ended. Cancelled, it gives running jobs back."""
        self._runner = runner
        self._declined.clear()
        self._cancelled = False
        worker = asyncio.create_task(self.app.run_worker_async(
            queues=[self.queue], concurrency=concurrency, wait=True, install_signal_handlers=False,
            delete_jobs="always", fetch_job_polling_interval=FETCH_POLL_S, listen_notify=True,
        ), name="picsha-jobs-worker")
        upkeep = asyncio.create_task(self._upkeep(runner), name="picsha-jobs-reconcile")
        stopping = False
        try:
            await self._until_stopping(runner, worker)
            upkeep.cancel()
            if not worker.done():
                stopping = True
                worker.cancel()  # procrastinate's graceful stop: fetch nothing more, wait for running jobs
            await asyncio.wait({worker})
        except asyncio.CancelledError:
            self._cancelled = True
            if not stopping:
                worker.cancel()
            for delivering in list(self._delivering):
                delivering.cancel()  # JobRunner gives the job back to the queue
            await asyncio.wait({worker})
            raise
        finally:
            upkeep.cancel()
            await asyncio.gather(upkeep, return_exceptions=True)
            self._runner = None
        if not worker.cancelled() and worker.exception() is not None:
            raise worker.exception()  # type: ignore[misc]

    async def _until_stopping(self, runner: JobRunner, worker: asyncio.Task[Any]) -> None:
        while runner.accepting and not worker.done():
            declined = asyncio.create_task(self._declined.wait())
            try:
                await asyncio.wait({worker, declined}, timeout=ACCEPTING_CHECK_S, return_when=asyncio.FIRST_COMPLETED)
            finally:
                declined.cancel()

    async def _upkeep(self, runner: JobRunner) -> None:
        while True:
            try:
                await self.reconcile(runner)
            except Exception:  # a database hiccup must not stop the worker; the next round tries again
                log.exception("reconciling jobs with procrastinate failed; trying again")
            await asyncio.sleep(self.reconcile_s)

    async def reconcile(self, runner: JobRunner) -> list[str]:
        """Defer again the jobs that could run now but that no waiting delivery covers; their ids."""
        await self.drop_stalled()
        at = now()
        due = [job_id for job_id, run_after in await runner.store.due(RECONCILE_LIMIT) if run_after <= at]
        if not due:
            return []
        rows = await self.connector.execute_query_all_async(query=_WAITING, locks=due)
        covered = {row["queueing_lock"] for row in rows}
        missing = [job_id for job_id in due if job_id not in covered]
        for job_id in missing:
            await self.dispatch(job_id)
        if missing:
            log.info("re-dispatched %d jobs that no procrastinate job would deliver", len(missing))
        return missing

    async def drop_stalled(self) -> None:
        """Delete the ``doing`` deliveries of workers that stopped heartbeating (killed), then those workers:
        the catalog's lease decides whether their jobs run again, and ``reconcile`` delivers those anew."""
        manager = self.app.job_manager
        for stalled in await manager.get_stalled_jobs(queue=self.queue, task_name=TASK_NAME,
                                                      seconds_since_heartbeat=STALLED_S):
            assert stalled.id is not None
            try:
                await manager.finish_job_by_id_async(job_id=stalled.id, status=Status.ABORTED, delete_job=True)
            except ConnectorException:  # another worker dropped it first
                continue
        await manager.prune_stalled_workers(STALLED_S)
