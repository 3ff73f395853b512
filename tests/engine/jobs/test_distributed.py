"""The distributed dispatcher's own duties on PostgreSQL: its schema, one waiting delivery per job, and the
deliveries a killed worker leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from procrastinate.jobs import Job as Delivery

from engine.catalog import Catalog
from engine.catalog.database import now
from engine.jobs import JobBackend, JobRunner, JobSettings
from engine.jobs.distributed import DistributedDispatcher, libpq_dsn
from engine.jobs.factory import open_jobs


@pytest.fixture
async def catalog(postgres_url: str) -> AsyncIterator[Catalog]:
    opened = Catalog(postgres_url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def runner(catalog: Catalog) -> AsyncIterator[JobRunner]:
    opened = await open_jobs(catalog, JobSettings(backend=JobBackend.DISTRIBUTED, lease_s=2.0))
    yield opened
    await opened.close()


def _dispatcher(runner: JobRunner) -> DistributedDispatcher:
    assert isinstance(runner.dispatcher, DistributedDispatcher)
    return runner.dispatcher


async def _deliveries(runner: JobRunner, job_id: str) -> list[Delivery]:
    return list(await _dispatcher(runner).app.job_manager.list_jobs_async(queueing_lock=job_id))


def test_the_catalog_url_becomes_a_libpq_dsn() -> None:
    assert libpq_dsn("postgresql+asyncpg://u:p%40ss@db:5433/picsha") == "postgresql://u:p%40ss@db:5433/picsha"
    assert libpq_dsn("postgresql+asyncpg://u@db/picsha?ssl=true") == "postgresql://u@db/picsha?sslmode=require"
    assert libpq_dsn("host=db dbname=picsha") == "host=db dbname=picsha"


async def test_a_sqlite_catalog_is_refused_with_a_reason(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    try:
        with pytest.raises(ValueError, match="needs a PostgreSQL catalog"):
            await open_jobs(catalog, JobSettings(backend=JobBackend.DISTRIBUTED))
    finally:
        await catalog.close()


async def test_processes_starting_together_apply_the_schema_once(catalog: Catalog) -> None:
    settings = JobSettings(backend=JobBackend.DISTRIBUTED)
    opened = await asyncio.gather(*[DistributedDispatcher.open(catalog, settings) for _ in range(4)])
    try:
        assert all([await dispatcher.app.check_connection_async() for dispatcher in opened])
    finally:
        for dispatcher in opened:
            await dispatcher.close()


async def test_a_job_waits_in_one_delivery_never_later_than_asked(runner: JobRunner) -> None:
    job_id = await runner.enqueue(account_id="acct_a", kind="anything")
    await runner.dispatcher.dispatch(job_id)
    await runner.dispatcher.dispatch(job_id, now() + timedelta(seconds=60))
    [waiting] = await _deliveries(runner, job_id)
    assert waiting.status == "todo" and waiting.scheduled_at is None

    later = await runner.enqueue(account_id="acct_a", kind="anything")
    [scheduled] = await _deliveries(runner, later)
    await _dispatcher(runner).connector.execute_query_async(
        query="UPDATE procrastinate_jobs SET scheduled_at = now() + interval '1 hour' WHERE id = %(id)s",
        id=scheduled.id)
    soon = now() + timedelta(seconds=5)
    await runner.dispatcher.dispatch(later, soon)  # a retry due sooner than the delivery already waiting
    [moved] = await _deliveries(runner, later)
    assert moved.id == scheduled.id and moved.scheduled_at is not None
    assert abs(moved.scheduled_at - soon) < timedelta(seconds=1)


async def test_a_killed_workers_delivery_and_record_are_dropped_once_its_heartbeat_is_stale(runner: JobRunner) -> None:
    dispatcher = _dispatcher(runner)
    manager = dispatcher.app.job_manager
    killed, alive = await manager.register_worker(), await manager.register_worker()
    first = await runner.enqueue(account_id="acct_a", kind="anything")
    second = await runner.enqueue(account_id="acct_a", kind="anything")
    taken = [await manager.fetch_job(queues=[dispatcher.queue], worker_id=w) for w in (killed, alive)]
    assert {job.queueing_lock for job in taken if job} == {first, second}
    await dispatcher.connector.execute_query_async(
        query="UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %(id)s",
        id=killed)
    await dispatcher.drop_stalled()
    await dispatcher.drop_stalled()  # a second worker doing the same finds nothing left to drop
    left = [job.id for job in await manager.list_jobs_async(queue=dispatcher.queue)]
    assert left == [job.id for job in taken if job and job.worker_id == alive]
    workers = await dispatcher.connector.execute_query_all_async(query="SELECT id FROM procrastinate_workers")
    assert [row["id"] for row in workers] == [alive]


async def test_reconciling_defers_only_runnable_jobs_that_no_delivery_covers(runner: JobRunner,
                                                                             catalog: Catalog) -> None:
    async with catalog.begin() as conn:  # committed; the process died before handing them over
        lost = await runner.create(conn, account_id="acct_a", kind="anything")
        later = await runner.store.create(conn, account_id="acct_a", kind="anything",
                                          run_after=now() + timedelta(hours=1))
    delivered = await runner.enqueue(account_id="acct_a", kind="anything")
    reconciled = await asyncio.gather(*[_dispatcher(runner).reconcile(runner) for _ in range(3)])
    assert lost in [job_id for batch in reconciled for job_id in batch]
    assert [len(await _deliveries(runner, job_id)) for job_id in (lost, later, delivered)] == [1, 0, 1]
