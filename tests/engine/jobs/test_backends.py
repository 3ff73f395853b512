"""One set of job behaviours on every backend: embedded on SQLite, embedded on PostgreSQL, and distributed
(procrastinate) on PostgreSQL. Each runner is built by ``open_jobs`` as the engine builds it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta


from engine.catalog import tables
from engine.catalog.database import now
from engine.jobs import Job, JobContext, JobKind, JobPolicy, JobRunner, JobStatus
from tests.engine.jobs.conftest import Backend, running


async def _ok() -> None:
    return None


async def _boom() -> None:
    raise ValueError("bad pixels")


async def _reported(runner: JobRunner, job_id: str) -> Job:
    """The job once its handler reported progress, read back as any other process would read it."""
    while True:
        job = await runner.get("acct_a", job_id)
        if job.done is not None or job.finished:
            return job
        await asyncio.sleep(0.05)


async def test_a_job_runs_once_with_its_steps_progress_and_result(backend: Backend) -> None:
    runs: list[str] = []
    go = asyncio.Event()

    async def handler(job: JobContext) -> dict[str, int]:
        runs.append(job.id)
        await job.run_step("colors", _ok)
        await job.report(done=1, total=4, message="one of four")
        await go.wait()
        await job.run_step("ocr", _boom)
        return {"made": 3}

    async with running(backend, JobKind("enrich", handler, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="enrich", asset_id="as_1")
        during = await asyncio.wait_for(_reported(runner, job_id), 10)
        go.set()
        assert await runner.wait(job_id, 10)
        job = await runner.get("acct_a", job_id)
        await asyncio.sleep(0.3)  # time for a second delivery, were there one
    assert during.status is JobStatus.RUNNING and (during.progress, during.done, during.total) == (25.0, 1, 4)
    assert during.message == "one of four" and [s.name for s in during.steps] == ["colors"]
    assert job.status is JobStatus.FAILED and job.error == "step 'ocr' failed: ValueError: bad pixels"
    assert job.result == {"made": 3} and [(s.name, s.ok) for s in job.steps] == [("colors", True), ("ocr", False)]
    assert runs == [job_id] and job.attempts == 1


async def test_a_job_ends_ready_with_its_result(backend: Backend) -> None:
    async def handler(job: JobContext) -> dict[str, str]:
        return {"caption": f"for {job.asset_id}"}

    async with running(backend, JobKind("caption", handler, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="caption", asset_id="as_2")
        assert await runner.wait(job_id, 10)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.READY and job.result == {"caption": "for as_2"} and job.progress == 100


async def test_failures_are_retried_with_backoff_then_fail_and_final_errors_fail_at_once(backend: Backend) -> None:
    started: dict[str, list[float]] = {"always": [], "refuses": []}

    async def always(job: JobContext) -> None:
        started["always"].append(time.monotonic())
        raise ConnectionError("receiver down")

    async def refuses(job: JobContext) -> None:
        started["refuses"].append(time.monotonic())
        raise PermissionError("never allowed")

    kinds = [JobKind("always", always, JobPolicy(attempts=3, backoff_s=0.3)),
             JobKind("refuses", refuses, JobPolicy(attempts=5, backoff_s=0.3, final=(PermissionError,)))]
    async with running(backend, *kinds) as runner:
        always_id = await runner.enqueue(account_id="acct_a", kind="always")
        refused_id = await runner.enqueue(account_id="acct_a", kind="refuses")
        assert await runner.wait(always_id, 15) and await runner.wait(refused_id, 15)
        failed, refused = await runner.get("acct_a", always_id), await runner.get("acct_a", refused_id)
    assert failed.status is JobStatus.FAILED and failed.attempts == 3 and "receiver down" in (failed.error or "")
    gaps = [b - a for a, b in zip(started["always"], started["always"][1:], strict=False)]
    assert len(gaps) == 2 and gaps[0] >= 0.3 and gaps[1] >= 0.6  # 0.3 s, then twice that
    assert refused.status is JobStatus.FAILED and refused.attempts == 1 and len(started["refuses"]) == 1


async def test_a_job_over_its_time_limit_fails(backend: Backend) -> None:
    async def hangs(job: JobContext) -> None:
        await asyncio.Event().wait()

    async with running(backend, JobKind("hangs", hangs, JobPolicy(attempts=1, time_limit_s=0.3))) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="hangs")
        assert await runner.wait(job_id, 10)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.FAILED and "time limit of 0.3 s" in (job.error or "")


async def test_cancelling_a_queued_job_at_once_and_a_running_one_at_its_next_step(backend: Backend) -> None:
    started, steps_done = asyncio.Event(), []

    async def long(job: JobContext) -> None:
        started.set()
        for n in range(200):
            await job.run_step(f"step{n}", lambda: asyncio.sleep(0.02))  # type: ignore[arg-type,return-value]
            steps_done.append(n)

    async with running(backend, JobKind("long", long, JobPolicy()), serve=False) as runner:
        queued = await runner.enqueue(account_id="acct_a", kind="long")
        assert (await runner.cancel("acct_a", queued)).status is JobStatus.CANCELLED
        serving = asyncio.create_task(runner.serve())
        try:
            running_id = await runner.enqueue(account_id="acct_a", kind="long")
            await asyncio.wait_for(started.wait(), 10)
            await runner.cancel("acct_a", running_id)
            assert await runner.wait(running_id, 10)
            await asyncio.sleep(0.3)
        finally:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        never_started = await runner.get("acct_a", queued)
        stopped = await runner.get("acct_a", running_id)
    assert never_started.status is JobStatus.CANCELLED and never_started.started_at is None
    assert stopped.status is JobStatus.CANCELLED and 0 < len(steps_done) < 200
    assert len(stopped.steps) == len(steps_done)  # stopped at a step boundary


async def test_a_job_enqueued_while_workers_idle_starts_promptly(backend: Backend) -> None:
    started = asyncio.Event()

    async def handler(job: JobContext) -> None:
        started.set()

    async with running(backend, JobKind("quick", handler, JobPolicy()), poll_max_s=0.5) as runner:
        await asyncio.sleep(1.5)  # every worker idle, pollers backed off
        enqueued = time.monotonic()
        job_id = await runner.enqueue(account_id="acct_a", kind="quick")
        await asyncio.wait_for(started.wait(), 10)
        waited = time.monotonic() - enqueued
        assert await runner.wait(job_id, 10)
    assert waited < 0.8


async def test_a_committed_job_that_was_never_handed_over_still_runs(backend: Backend) -> None:
    """The process died between the commit and the dispatch: the job is in the catalog and nowhere else."""
    runs: list[str] = []

    async def handler(job: JobContext) -> None:
        runs.append(job.id)

    async with running(backend, JobKind("quiet", handler, JobPolicy())) as runner:
        async with backend.catalog.begin() as conn:
            job_id = await runner.create(conn, account_id="acct_a", kind="quiet")
        assert await runner.wait(job_id, 10)
        assert (await runner.get("acct_a", job_id)).status is JobStatus.READY
    assert runs == [job_id]


async def test_a_job_whose_worker_died_runs_again_once_its_lease_lapses(backend: Backend) -> None:
    runs: list[int] = []

    async def handler(job: JobContext) -> None:
        runs.append(job.attempt)

    async with running(backend, JobKind("enrich", handler, JobPolicy())) as runner:
        async with backend.catalog.begin() as conn:
            job_id = await runner.create(conn, account_id="acct_a", kind="enrich")
            j = tables.jobs
            await conn.execute(j.update().where(j.c.id == job_id).values(  # what a killed worker leaves
                status="running", attempts=1, lease_owner="elsewhere:1:dead", lease_until=now() + timedelta(seconds=1)))
        assert await runner.wait(job_id, 10)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.READY and job.attempts == 2 and runs == [2]


async def test_two_runners_run_every_job_exactly_once(backend: Backend) -> None:
    runs: list[str] = []

    async def handler(job: JobContext) -> None:
        runs.append(job.id)
        await asyncio.sleep(0.005)

    kind = JobKind("count", handler, JobPolicy())
    async with running(backend, kind, workers=3) as first, running(backend, kind, workers=3) as second:
        ids = [await (first if n % 2 else second).enqueue(account_id="acct_a", kind="count") for n in range(40)]
        for job_id in ids:
            assert await first.wait(job_id, 20)
        await asyncio.sleep(0.3)
    assert sorted(runs) == sorted(ids)


async def test_a_stopping_worker_finishes_what_it_runs_and_a_cancelled_one_gives_it_back(backend: Backend) -> None:
    go, started = asyncio.Event(), asyncio.Event()

    async def waits(job: JobContext) -> dict[str, bool]:
        started.set()
        await go.wait()
        return {"finished": True}

    async with running(backend, JobKind("waits", waits, JobPolicy()), serve=False) as runner:
        finishing = await runner.enqueue(account_id="acct_a", kind="waits")
        serving = asyncio.create_task(runner.serve())
        await asyncio.wait_for(started.wait(), 10)
        runner.accepting = False  # SIGTERM: take nothing new, let the running job end
        later = await runner.enqueue(account_id="acct_a", kind="waits")
        await asyncio.sleep(0.5)
        assert not serving.done()
        go.set()
        await asyncio.wait_for(serving, 10)
        assert (await runner.get("acct_a", finishing)).status is JobStatus.READY
        assert (await runner.get("acct_a", later)).status is JobStatus.QUEUED

        go.clear()
        started.clear()
        runner.accepting = True
        serving = asyncio.create_task(runner.serve())
        await asyncio.wait_for(started.wait(), 10)
        serving.cancel()  # the grace ran out
        await asyncio.gather(serving, return_exceptions=True)
        given_back = await runner.get("acct_a", later)
    assert given_back.status is JobStatus.QUEUED and given_back.attempts == 0
