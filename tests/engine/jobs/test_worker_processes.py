"""Jobs across real worker processes (embedded on SQLite, distributed on PostgreSQL): every job runs once, a
killed worker's job finishes on another one once its lease lapses, and ``picsha worker`` runs the engine's
own kinds and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.catalog import Catalog, tables
from engine.jobs import Job, JobBackend, JobRunner, JobSettings, JobStatus
from engine.jobs.factory import open_jobs

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
WORKER_SCRIPT = Path(__file__).with_name("worker_process.py")
PICSHA = Path(sys.executable).with_name("picsha")
LEASE_S = 3.0


@asynccontextmanager
async def processes(*commands: list[str], env: list[dict[str, str]],
                    ready: str) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Start each command; yield once each printed ``ready``; kill whatever still runs afterwards."""
    started = [await asyncio.create_subprocess_exec(*command, cwd=ROOT, env={**os.environ, **extra},
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
               for command, extra in zip(commands, env, strict=True)]
    output: list[str] = []
    drains: list[asyncio.Task[None]] = []
    try:
        for process in started:
            await asyncio.wait_for(_wait_for_line(process, ready, output), 60)
            drains.append(asyncio.create_task(_drain(process, output)))  # a full pipe would block the worker
        yield started
    finally:
        for process in started:
            if process.returncode is None:
                process.kill()
            await process.wait()
        await asyncio.gather(*drains, return_exceptions=True)
        print("".join(output))  # shown by pytest when the test failed


async def _wait_for_line(process: asyncio.subprocess.Process, text: str, output: list[str]) -> None:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode(errors="replace")
        output.append(f"[{process.pid}] {line}")
        if not line:
            raise AssertionError(f"worker {process.pid} exited before printing {text!r}:\n{''.join(output)}")
        if text in line:
            return


async def _drain(process: asyncio.subprocess.Process, output: list[str]) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        output.append(f"[{process.pid}] {line.decode(errors='replace')}")


async def _stopped(process: asyncio.subprocess.Process, timeout_s: float = 20.0) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), timeout_s)


@pytest.fixture(params=[JobBackend.EMBEDDED, JobBackend.DISTRIBUTED], ids=["embedded-sqlite", "distributed-postgres"])
def backend(request: pytest.FixtureRequest) -> JobBackend:
    return request.param


@pytest.fixture
def catalog_url(backend: JobBackend, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend is JobBackend.EMBEDDED:
        return f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def catalog(catalog_url: str) -> AsyncIterator[Catalog]:
    opened = Catalog(catalog_url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def client(catalog: Catalog, backend: JobBackend) -> AsyncIterator[JobRunner]:
    """This process queues and reads jobs; only the worker processes run them."""
    opened = await open_jobs(catalog, JobSettings(backend=backend, lease_s=LEASE_S))
    yield opened
    await opened.close()


async def _running_with_a_step_done(client: JobRunner, job_id: str) -> Job:
    while True:
        job = await client.get("acct_a", job_id)
        if job.status is JobStatus.RUNNING and job.steps:
            return job
        assert not job.finished, job
        await asyncio.sleep(0.05)


async def _lease_owner_pid(catalog: Catalog, job_id: str) -> int:
    async with catalog.connect() as conn:
        owner = await conn.scalar(sa.select(tables.jobs.c.lease_owner).where(tables.jobs.c.id == job_id))
    _host, pid, _rest = owner.split(":")  # host:pid:random, see engine.jobs.runner.worker_name
    return int(pid)


async def test_a_killed_workers_job_finishes_once_on_another_and_every_job_runs_once(
    catalog: Catalog, client: JobRunner, catalog_url: str, backend: JobBackend, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    command = [sys.executable, str(WORKER_SCRIPT), catalog_url, str(runs), backend.value]
    async with processes(command, command, env=[{}, {}], ready="serving") as workers:
        quick = [await client.enqueue(account_id="acct_a", kind="steps", payload={"steps": 0}) for _ in range(20)]
        slow = await client.enqueue(account_id="acct_a", kind="steps", payload={"steps": 12})
        await asyncio.wait_for(_running_with_a_step_done(client, slow), 30)
        holder = await _lease_owner_pid(catalog, slow)
        [killed] = [worker for worker in workers if worker.pid == holder]
        [survivor] = [worker for worker in workers if worker.pid != holder]
        killed.kill()  # SIGKILL: no cleanup, its lease simply stops being renewed
        await killed.wait()

        # lapsed lease + a reconciliation round + 12 steps of 0.25 s, with a margin
        assert await client.wait(slow, LEASE_S + 2 + 3 + 10)
        for job_id in quick:
            assert await client.wait(job_id, 20)
        finished = await client.get("acct_a", slow)
        assert await _stopped(survivor) == 0

    assert finished.status is JobStatus.READY and finished.attempts == 2 and finished.result == {"steps": 12}
    lines = [line.split() for line in runs.read_text().splitlines()]
    slow_runs = [(what, int(pid)) for what, job_id, pid in lines if job_id == slow]
    assert slow_runs == [("start", killed.pid), ("start", survivor.pid), ("end", survivor.pid)]
    counts = Counter((what, job_id) for what, job_id, _pid in lines if job_id in quick)
    assert counts == Counter({(what, job_id): 1 for job_id in quick for what in ("start", "end")})
    for job_id in quick:
        assert (await client.get("acct_a", job_id)).status is JobStatus.READY


async def test_picsha_workers_run_the_engines_jobs_and_stop_on_sigterm(
    catalog: Catalog, client: JobRunner, catalog_url: str, backend: JobBackend, tmp_path: Path
) -> None:
    env = [{"PICSHA_DATA_DIR": str(tmp_path / f"worker{n}"), "PICSHA_CATALOG__URL": catalog_url,
            "PICSHA_JOBS__BACKEND": backend.value, "PICSHA_JOBS__LEASE_S": str(LEASE_S)} for n in range(2)]
    command = [str(PICSHA), "worker", "--grace", "5"]
    async with processes(command, command, env=env, ready=f"{backend.value} backend") as workers:
        payload = {"subscriber": "nobody", "events": []}  # an event retry for a subscriber that is gone
        ids = [await client.enqueue(account_id="acct_a", kind="event.retry", payload=payload) for _ in range(10)]
        for job_id in ids:
            assert await client.wait(job_id, 30)
        jobs = [await client.get("acct_a", job_id) for job_id in ids]
        codes = await asyncio.gather(*[_stopped(worker) for worker in workers])
    assert all(job.status is JobStatus.READY and job.result == {"skipped": "no such subscriber"} for job in jobs)
    assert codes == [0, 0]
