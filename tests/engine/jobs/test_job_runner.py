"""The job runner on a real SQLite catalog: claiming, leases, retries, cancelling, progress and waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.errors import Conflict, NotFound
from engine.jobs import JobContext, JobKind, JobPolicy, JobRunner, JobSettings, JobStatus
from engine.jobs.factory import open_jobs


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    opened = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await opened.migrate()
    yield opened
    await opened.close()


@asynccontextmanager
async def running(catalog: Catalog, *kinds: JobKind, serve: bool = True, **settings: object) -> AsyncIterator[JobRunner]:
    runner = await open_jobs(catalog, JobSettings(**{"lease_s": 2.0, "poll_max_s": 0.1, **settings}))  # type: ignore[arg-type]
    runner.declare(list(kinds))
    task = asyncio.create_task(runner.serve()) if serve else None
    try:
        yield runner
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await runner.close()


async def _ok() -> None:
    return None


async def _skip() -> str:
    return "nothing to do"


async def _boom() -> None:
    raise ValueError("bad pixels")


async def test_steps_are_recorded_and_the_failing_step_is_named(catalog: Catalog) -> None:
    async def handler(job: JobContext) -> None:
        await job.run_step("colors", _ok)
        await job.run_step("clip", _skip)
        await job.run_step("ocr", _boom)
        await job.run_step("index", _ok)  # later steps still run after a failure

    async with running(catalog, JobKind("enrich", handler, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="enrich", asset_id="as_1")
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
        assert (await runner.latest_for_asset("acct_a", "as_1")).id == job_id  # type: ignore[union-attr]
        with pytest.raises(NotFound):
            await runner.get("acct_b", job_id)  # scoped by account
    assert job.status is JobStatus.FAILED and job.error == "step 'ocr' failed: ValueError: bad pixels"
    assert [(s.name, s.ok, s.skipped) for s in job.steps] == [
        ("colors", True, None), ("clip", True, "nothing to do"), ("ocr", False, None), ("index", True, None)
    ]
    assert all(step.duration_ms >= 0 for step in job.steps) and job.finished_at and job.attempts == 1
    assert job.poll_interval_ms > 0 and job.ttl_ms and job.ttl_ms > 0  # shaped like an MCP task


async def test_a_result_and_progress_are_kept_and_waiting_times_out_while_it_runs(catalog: Catalog) -> None:
    release = asyncio.Event()

    async def handler(job: JobContext) -> dict[str, int]:
        await job.report(done=1, total=4, message="one of four")
        await release.wait()
        return {"made": 3}

    async with running(catalog, JobKind("slow", handler, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="slow")
        assert not await runner.wait(job_id, 0.3)
        job = await runner.get("acct_a", job_id)
        assert job.status is JobStatus.RUNNING and (job.progress, job.done, job.total) == (25.0, 1, 4)
        assert job.message == "one of four"
        release.set()
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.READY and job.result == {"made": 3} and job.progress == 100


async def test_unknown_kind_fails_with_a_reason(catalog: Catalog) -> None:
    async with running(catalog) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="nope")
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.FAILED and "no handler" in (job.error or "")


async def _as_if_its_worker_died(catalog: Catalog, job_id: str) -> None:
    """The row a worker killed mid-run leaves behind: running, under a lease that lapsed."""
    j = tables.jobs
    async with catalog.begin() as conn:
        await conn.execute(j.update().where(j.c.id == job_id).values(
            status="running", attempts=1, lease_owner="elsewhere:1:dead", lease_until=now() - timedelta(seconds=1)))


async def test_a_job_whose_worker_died_runs_again_once_the_lease_lapses(catalog: Catalog) -> None:
    runs: list[int] = []

    async def handler(job: JobContext) -> None:
        runs.append(job.attempt)

    async with running(catalog, JobKind("enrich", handler, JobPolicy()), serve=False) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="enrich")
        await _as_if_its_worker_died(catalog, job_id)
        serving = asyncio.create_task(runner.serve())
        try:
            assert await runner.wait(job_id, 30)
        finally:
            serving.cancel()
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.READY and job.attempts == 2 and runs == [2]


async def test_a_job_that_may_not_run_twice_fails_after_its_worker_died(catalog: Catalog) -> None:
    runs: list[str] = []

    async def charge(job: JobContext) -> None:
        runs.append(job.id)

    async with running(catalog, JobKind("charge", charge, JobPolicy(idempotent=False)), serve=False) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="charge")
        await _as_if_its_worker_died(catalog, job_id)
        serving = asyncio.create_task(runner.serve())
        try:
            assert await runner.wait(job_id, 30)
        finally:
            serving.cancel()
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.FAILED and "not run twice" in (job.error or "") and runs == []


async def test_a_running_job_is_never_taken_by_a_second_worker(catalog: Catalog) -> None:
    """Two runners (as two processes would) on one catalog: every job runs exactly once."""
    runs: list[str] = []

    async def handler(job: JobContext) -> None:
        runs.append(job.id)
        await asyncio.sleep(0.005)

    kind = JobKind("count", handler, JobPolicy())
    async with running(catalog, kind, workers=3) as first, running(catalog, kind, workers=3):
        ids = [await first.enqueue(account_id="acct_a", kind="count") for _ in range(60)]
        for job_id in ids:
            assert await first.wait(job_id, 60)
    assert sorted(runs) == sorted(ids)


async def test_failures_are_retried_with_backoff_and_final_errors_are_not(catalog: Catalog) -> None:
    attempts: list[int] = []

    async def flaky(job: JobContext) -> dict[str, int]:
        attempts.append(job.attempt)
        if job.attempt < 3:
            raise ConnectionError("receiver down")
        return {"attempt": job.attempt}

    async def refuses(job: JobContext) -> None:
        raise PermissionError("never allowed")

    kinds = [JobKind("flaky", flaky, JobPolicy(attempts=3, backoff_s=0.05)),
             JobKind("refuses", refuses, JobPolicy(attempts=5, backoff_s=0.05, final=(PermissionError,))),
             JobKind("always", refuses, JobPolicy(attempts=2, backoff_s=0.05))]
    async with running(catalog, *kinds) as runner:
        flaky_id = await runner.enqueue(account_id="acct_a", kind="flaky")
        refused_id = await runner.enqueue(account_id="acct_a", kind="refuses")
        always_id = await runner.enqueue(account_id="acct_a", kind="always")
        for job_id in (flaky_id, refused_id, always_id):
            assert await runner.wait(job_id, 30)
        flaky_job, refused, always = [await runner.get("acct_a", i) for i in (flaky_id, refused_id, always_id)]
    assert flaky_job.status is JobStatus.READY and flaky_job.attempts == 3 and attempts == [1, 2, 3]
    assert refused.status is JobStatus.FAILED and refused.attempts == 1 and "never allowed" in (refused.error or "")
    assert always.status is JobStatus.FAILED and always.attempts == 2


async def test_a_job_over_its_time_limit_fails(catalog: Catalog) -> None:
    async def hangs(job: JobContext) -> None:
        await asyncio.Event().wait()

    async with running(catalog, JobKind("hangs", hangs, JobPolicy(attempts=1, time_limit_s=0.2))) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="hangs")
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.FAILED and "time limit" in (job.error or "")


async def test_cancelling_a_queued_job_a_running_one_and_a_finished_one(catalog: Catalog) -> None:
    started, steps_done = asyncio.Event(), []

    async def long(job: JobContext) -> None:
        started.set()
        for n in range(200):
            await job.run_step(f"step{n}", lambda: asyncio.sleep(0.02))  # type: ignore[arg-type,return-value]
            steps_done.append(n)

    async with running(catalog, JobKind("long", long, JobPolicy()), serve=False) as runner:
        queued = await runner.enqueue(account_id="acct_a", kind="long")
        assert (await runner.cancel("acct_a", queued)).status is JobStatus.CANCELLED  # at once, never started
        serving = asyncio.create_task(runner.serve())
        try:
            running_id = await runner.enqueue(account_id="acct_a", kind="long")
            await asyncio.wait_for(started.wait(), 30)
            await runner.cancel("acct_a", running_id)
            assert await runner.wait(running_id, 30)
        finally:
            serving.cancel()
        stopped = await runner.get("acct_a", running_id)
        with pytest.raises(Conflict) as refused:
            await runner.cancel("acct_a", running_id)
        with pytest.raises(NotFound):
            await runner.cancel("acct_b", queued)
    assert stopped.status is JobStatus.CANCELLED and len(steps_done) < 200
    assert refused.value.code == "job_already_finished" and refused.value.status == 409


async def test_a_worker_that_stops_gives_its_job_back(catalog: Catalog) -> None:
    started = asyncio.Event()

    async def stuck(job: JobContext) -> None:
        started.set()
        await asyncio.Event().wait()

    async with running(catalog, JobKind("stuck", stuck, JobPolicy()), serve=False) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="stuck")
        serving = asyncio.create_task(runner.serve())
        await asyncio.wait_for(started.wait(), 30)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0  # queued again at once, the start not counted


async def test_watching_a_job_sees_its_progress_and_ends_with_its_last_state(catalog: Catalog) -> None:
    go = asyncio.Event()

    async def counts(job: JobContext) -> None:
        await go.wait()
        for done in range(1, 4):
            await job.report(done=done, total=3)
            await asyncio.sleep(0.05)

    async with running(catalog, JobKind("counts", counts, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="counts")
        seen = []
        async for job in runner.watch("acct_a", job_id):
            seen.append((job.status, job.progress))
            go.set()
    assert seen[-1] == (JobStatus.READY, 100.0)
    progress = [p for _s, p in seen]
    assert progress == sorted(progress) and any(0 < p < 100 for p in progress)
