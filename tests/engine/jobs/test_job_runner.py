"""The job runner on a real SQLite catalog: steps, failures, waiting, and a restart in the middle of a job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.catalog import Catalog
from engine.errors import NotFound
from engine.jobs import JobContext, JobRunner, JobSettings, JobStatus


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    opened = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await opened.migrate()
    yield opened
    await opened.close()


async def _ok() -> None:
    return None


async def _skip() -> str:
    return "nothing to do"


async def _boom() -> None:
    raise ValueError("bad pixels")


async def test_steps_are_recorded_and_the_failing_step_is_named(catalog: Catalog) -> None:
    runner = JobRunner(catalog, JobSettings())

    async def handler(job: JobContext) -> None:
        await job.run_step("colors", _ok)
        await job.run_step("clip", _skip)
        await job.run_step("ocr", _boom)
        await job.run_step("index", _ok)  # later steps still run after a failure

    runner.register("enrich", handler)
    await runner.start()
    try:
        job_id = await runner.enqueue(account_id="acct_a", kind="enrich", asset_id="as_1")
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
    finally:
        await runner.close()
    assert job.status is JobStatus.FAILED and job.error == "step 'ocr' failed: ValueError: bad pixels"
    assert [(s.name, s.ok, s.skipped) for s in job.steps] == [
        ("colors", True, None), ("clip", True, "nothing to do"), ("ocr", False, None), ("index", True, None)
    ]
    assert all(step.duration_ms >= 0 for step in job.steps) and job.finished_at and job.attempts == 1
    assert (await runner.latest_for_asset("acct_a", "as_1")).id == job_id  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await runner.get("acct_b", job_id)  # scoped by account


async def test_a_job_ends_ready_and_waiting_times_out_while_it_runs(catalog: Catalog) -> None:
    release = asyncio.Event()
    runner = JobRunner(catalog, JobSettings())

    async def handler(job: JobContext) -> None:
        async def slow() -> None:
            await release.wait()
        await job.run_step("slow", slow)

    runner.register("slow", handler)
    await runner.start()
    try:
        job_id = await runner.enqueue(account_id="acct_a", kind="slow")
        assert not await runner.wait(job_id, 0.05)
        assert (await runner.get("acct_a", job_id)).status is JobStatus.RUNNING
        release.set()
        assert await runner.wait(job_id, 30)
        assert (await runner.get("acct_a", job_id)).status is JobStatus.READY
    finally:
        await runner.close()


async def test_unknown_kind_fails_with_a_reason(catalog: Catalog) -> None:
    runner = JobRunner(catalog, JobSettings())
    await runner.start()
    try:
        job_id = await runner.enqueue(account_id="acct_a", kind="nope")
        assert await runner.wait(job_id, 30)
        job = await runner.get("acct_a", job_id)
    finally:
        await runner.close()
    assert job.status is JobStatus.FAILED and "no handler" in (job.error or "")


async def test_a_restart_in_the_middle_of_a_job_resumes_it(catalog: Catalog) -> None:
    first_step_done = asyncio.Event()
    never = asyncio.Event()
    first = JobRunner(catalog, JobSettings())

    async def stuck(job: JobContext) -> None:
        await job.run_step("one", _ok)
        first_step_done.set()
        await job.run_step("two", never.wait)  # type: ignore[arg-type]

    first.register("enrich", stuck)
    await first.start()
    job_id = await first.enqueue(account_id="acct_a", kind="enrich")
    await asyncio.wait_for(first_step_done.wait(), 30)
    await first.close()  # the process stops while step "two" runs
    interrupted = await first.get("acct_a", job_id)
    assert interrupted.status is JobStatus.RUNNING and [s.name for s in interrupted.steps] == ["one"]

    second = JobRunner(catalog, JobSettings())

    async def finishes(job: JobContext) -> None:
        await job.run_step("one", _ok)
        await job.run_step("two", _ok)

    second.register("enrich", finishes)
    await second.start()
    try:
        assert await second.wait(job_id, 30)
        resumed = await second.get("acct_a", job_id)
    finally:
        await second.close()
    assert resumed.status is JobStatus.READY and resumed.attempts == 2
    assert [s.name for s in resumed.steps] == ["one", "two"]


async def test_a_job_that_keeps_crashing_the_process_gives_up(catalog: Catalog) -> None:
    runner = JobRunner(catalog, JobSettings(max_attempts=1))
    started = asyncio.Event()

    async def hangs(job: JobContext) -> None:
        started.set()
        await asyncio.Event().wait()

    runner.register("enrich", hangs)
    await runner.start()
    job_id = await runner.enqueue(account_id="acct_a", kind="enrich")
    await asyncio.wait_for(started.wait(), 30)
    await runner.close()
    again = JobRunner(catalog, JobSettings(max_attempts=1))
    again.register("enrich", hangs)
    await again.start()
    try:
        assert await again.wait(job_id, 30)
        job = await again.get("acct_a", job_id)
    finally:
        await again.close()
    assert job.status is JobStatus.FAILED and "gave up after 1 starts" in (job.error or "")
