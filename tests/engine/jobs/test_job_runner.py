"""Job behaviours beyond running and retrying (tests/engine/jobs/test_backends.py), on every backend:
account scoping, unknown kinds, kinds that must not run twice, bounded waits, watching, cancelling."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from engine.catalog import tables
from engine.catalog.database import now
from engine.errors import Conflict, NotFound
from engine.jobs import JobContext, JobKind, JobPolicy, JobStatus
from tests.engine.jobs.conftest import Backend, running


async def test_a_job_is_read_only_in_its_own_account_and_an_unknown_kind_fails(backend: Backend) -> None:
    async with running(backend) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="nope", asset_id="as_1")
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
        latest = await runner.latest_for_asset("acct_a", "as_1")
        with pytest.raises(NotFound) as other:
            await runner.get("acct_b", job_id)
    assert job.status is JobStatus.FAILED and "no handler for job kind 'nope'" in (job.error or "")
    assert latest is not None and latest.id == job_id and other.value.code == "job_not_found"
    assert job.poll_interval_ms > 0 and job.ttl_ms and job.ttl_ms > 0  # shaped like an MCP task
    assert "account_id" not in job.model_dump()


async def test_a_kind_that_may_not_run_twice_fails_once_its_worker_died(backend: Backend) -> None:
    runs: list[str] = []

    async def charge(job: JobContext) -> None:
        runs.append(job.id)

    async with running(backend, JobKind("charge", charge, JobPolicy(idempotent=False)), serve=False) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="charge")
        j = tables.jobs
        async with backend.catalog.begin() as conn:  # what a worker killed mid-run leaves behind
            await conn.execute(j.update().where(j.c.id == job_id).values(
                status="running", attempts=1, lease_owner="elsewhere:1:dead", lease_until=now() - timedelta(seconds=1)))
        await runner.submit(job_id)
        serving = asyncio.create_task(runner.serve())
        try:
            assert await runner.wait(job_id, 30)
        finally:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        job = await runner.get("acct_a", job_id)
    assert job.status is JobStatus.FAILED and "not run twice" in (job.error or "") and runs == []


async def test_a_bounded_wait_ends_while_the_job_runs_and_watching_sees_it_through(backend: Backend) -> None:
    go = asyncio.Event()

    async def counts(job: JobContext) -> None:
        await job.report(progress=10, message="started")
        await go.wait()
        for done in range(1, 4):
            await job.report(done=done, total=3)
            await asyncio.sleep(0.05)

    async with running(backend, JobKind("counts", counts, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="counts")
        assert not await runner.wait(job_id, 0.5)
        seen = []
        async for job in runner.watch("acct_a", job_id):
            seen.append((job.status, job.progress))
            go.set()
    assert seen[-1] == (JobStatus.READY, 100.0)
    progress = [p for _s, p in seen]
    assert progress == sorted(progress) and any(0 < p < 100 for p in progress)


async def test_a_finished_job_cannot_be_cancelled_nor_another_accounts(backend: Backend) -> None:
    async def quick(job: JobContext) -> None:
        return None

    async with running(backend, JobKind("quick", quick, JobPolicy())) as runner:
        job_id = await runner.enqueue(account_id="acct_a", kind="quick")
        assert await runner.wait(job_id, 30)
        with pytest.raises(Conflict) as refused:
            await runner.cancel("acct_a", job_id)
        with pytest.raises(NotFound):
            await runner.cancel("acct_b", job_id)
    assert refused.value.code == "job_already_finished" and refused.value.status == 409
    assert refused.value.details["job_status"] == "ready"
