"""Background jobs: throughput, progress latency across processes, scale-out and recovery.

    python bench/jobs.py [--jobs 5000] [--samples 30] [--skip-postgres] [--skip-recovery]

1. Embedded throughput: ``--jobs`` no-op jobs enqueued, then run by one process with 2 workers on SQLite
   (and on PostgreSQL), beside the same number of bare catalog writes (one INSERT and one UPDATE per job:
   the least any catalog-backed queue does), measured in the same run. Target: >= 300 jobs/s on SQLite.
2. Progress latency: a client streams ``GET /v1/jobs/{id}/progress`` from a ``picsha serve`` process while
   the job runs and finishes in this process; latency = terminal event received - the job's
   ``finished_at``. Targets: p50 <= 50 ms on PostgreSQL (LISTEN/NOTIFY), <= 1 s on SQLite (polling).
3. Distributed scale-out: sleep-bound jobs (0.25 s of I/O wait each) on 1 then 2 worker processes (each
   with the same concurrency) on the distributed backend; the completion rate while all workers are busy
   (10th to 90th percentile of finish times); target: 2 workers >= 1.8x the rate of one.
4. Recovery: two worker processes, SIGKILL of the one holding a job; the time until the job finished on
   the other, at the default lease (PICSHA_JOBS__LEASE_S, 30 s).

Worker processes are this script in ``worker`` mode, so the bench's own job kinds exist in them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from engine.auth.keys import KeyService  # noqa: E402
from engine.catalog import Catalog, tables  # noqa: E402
from engine.catalog.database import now  # noqa: E402
from engine.jobs import JobBackend, JobContext, JobKind, JobPolicy, JobRunner, JobSettings  # noqa: E402
from engine.jobs.factory import open_jobs  # noqa: E402
from bench.load import start_server  # noqa: E402
from tests.conftest import free_port  # noqa: E402

PG_ADMIN = os.environ.get("PICSHA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SLEEP_S = 0.25


async def _noop(job: JobContext) -> None:
    return None


async def _sleep(job: JobContext) -> dict[str, int]:
    await asyncio.sleep(float(job.payload.get("seconds", SLEEP_S)))
    return {"pid": os.getpid()}


KINDS = [JobKind("bench.noop", _noop, JobPolicy(announce=False)),
         JobKind("bench.sleep", _sleep, JobPolicy(announce=False))]


@asynccontextmanager
async def runner_on(url: str, **settings: object) -> AsyncIterator[JobRunner]:
    catalog = Catalog(url)
    await catalog.migrate()
    runner = await open_jobs(catalog, JobSettings(**settings))  # type: ignore[arg-type]
    runner.declare(KINDS)
    try:
        yield runner
    finally:
        await runner.close()
        await catalog.close()


async def _count_finished(catalog: Catalog, kind: str) -> int:
    j = tables.jobs
    async with catalog.connect() as conn:
        return await conn.scalar(sa.select(sa.func.count()).where(j.c.kind == kind, j.c.status == "ready")) or 0


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not await check():
        if time.perf_counter() > deadline:
            raise TimeoutError("jobs did not finish in time")
        await asyncio.sleep(0.05)


# -- 1. throughput ---------------------------------------------------------------------------------------


async def bare_writes(url: str, n: int) -> float:
    """One INSERT and one UPDATE per job, one transaction each: a floor for any catalog-backed queue."""
    catalog = Catalog(url)
    await catalog.migrate()
    j = tables.jobs
    started = time.perf_counter()
    for i in range(n):
        async with catalog.begin() as conn:
            await conn.execute(j.insert().values(id=f"job_bare{i}", account_id="acct_bench", kind="bare", status="queued",
                                                 payload={}, steps=[], attempts=0, created_at=now()))
    for i in range(n):
        async with catalog.begin() as conn:
            await conn.execute(j.update().where(j.c.id == f"job_bare{i}").values(status="ready", finished_at=now()))
    elapsed = time.perf_counter() - started
    await catalog.close()
    return n / elapsed


async def throughput(url: str, n: int, workers: int = 2) -> tuple[float, float]:
    async with runner_on(url, workers=workers) as runner:
        started = time.perf_counter()
        for _ in range(n):
            await runner.enqueue(account_id="acct_bench", kind="bench.noop")
        enqueue_rate = n / (time.perf_counter() - started)
        started = time.perf_counter()
        serving = asyncio.create_task(runner.serve())
        await _until(lambda: _finished_all(runner.catalog, n), 600)
        complete_rate = n / (time.perf_counter() - started)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
    return enqueue_rate, complete_rate


async def _finished_all(catalog: Catalog, n: int) -> bool:
    return await _count_finished(catalog, "bench.noop") >= n


# -- 2. progress latency across processes -----------------------------------------------------------------


async def progress_latency(url: str, data_dir: Path, samples: int) -> list[float]:
    catalog = {} if url.startswith("sqlite") else {"PICSHA_CATALOG__URL": url}
    port = free_port()
    server, key = start_server(data_dir, port, PICSHA_JOBS__IN_PROCESS="false", **catalog)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    try:
        release: dict[str, asyncio.Event] = {}

        async def gated(job: JobContext) -> None:
            await release.setdefault(job.id, asyncio.Event()).wait()

        async with runner_on(url, workers=2) as runner:
            runner.declare([*KINDS, JobKind("bench.gated", gated, JobPolicy(announce=False))])
            owner = await KeyService(runner.catalog).owner_account()
            serving = asyncio.create_task(runner.serve())
            async with httpx2.AsyncClient(base_url=base, timeout=30,
                                          headers={"Authorization": f"Bearer {key}"}) as http:
                for _ in range(samples):
                    job_id = await runner.enqueue(account_id=owner, kind="bench.gated")
                    latencies.append(await _one_latency(http, runner, owner, job_id, release))
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return latencies


async def _one_latency(http: httpx2.AsyncClient, runner: JobRunner, owner: str, job_id: str,
                       release: dict[str, asyncio.Event]) -> float:
    async with http.stream("GET", f"/v1/jobs/{job_id}/progress") as response:
        async for line in response.aiter_lines():
            if line.startswith("event:") and line.split(":", 1)[1].strip() in ("ready", "failed", "cancelled"):
                received = datetime.now(UTC)
                job = await runner.get(owner, job_id)
                assert job.finished_at is not None
                return (received - job.finished_at).total_seconds()
            if line.startswith("data:") and '"running"' in line:
                release.setdefault(job_id, asyncio.Event()).set()
    raise RuntimeError("the stream ended without a terminal event")


# -- 3 and 4. worker processes -------------------------------------------------------------------------------


def start_worker(url: str, backend: str, concurrency: int, lease_s: float | None, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, "worker", "--url", url, "--backend", backend, "--concurrency", str(concurrency)]
    if lease_s is not None:
        args += ["--lease", str(lease_s)]
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


async def scale_out(url: str, backend: str, processes: int, jobs: int, concurrency: int, log: Path) -> float:
    """Jobs/s while every worker is busy: from the 10th to the 90th percentile of the jobs' finish times, so
    the enqueue loop before and the last stragglers after do not count."""
    async with runner_on(url, backend=JobBackend(backend)) as runner:
        workers = [start_worker(url, backend, concurrency, None, log) for _ in range(processes)]
        try:
            await asyncio.sleep(3)  # let the workers start before the clock does
            ids = [await runner.enqueue(account_id="acct_bench", kind="bench.sleep") for _ in range(jobs)]
            for job_id in ids:
                assert await runner.wait(job_id, 600)
            finished = sorted([(await runner.get("acct_bench", job_id)).finished_at for job_id in ids])  # type: ignore[type-var]
            first, last = int(jobs * 0.1), int(jobs * 0.9)
            return (last - first) / (finished[last] - finished[first]).total_seconds()  # type: ignore[operator]
        finally:
            stop(workers)


async def recovery(url: str, backend: str, log: Path, lease_s: float | None) -> float:
    async with runner_on(url, backend=JobBackend(backend)) as runner:
        workers = [start_worker(url, backend, 2, lease_s, log) for _ in range(2)]
        try:
            await asyncio.sleep(3)
            job_id = await runner.enqueue(account_id="acct_bench", kind="bench.sleep", payload={"seconds": 5})
            j = tables.jobs
            owner = None
            while not owner:
                async with runner.catalog.connect() as conn:
                    owner = await conn.scalar(sa.select(j.c.lease_owner).where(j.c.id == job_id))
                await asyncio.sleep(0.02)
            pid = int(owner.split(":")[1])
            await asyncio.sleep(0.5)
            os.kill(pid, signal.SIGKILL)
            killed = datetime.now(UTC)
            assert await runner.wait(job_id, 600)
            job = await runner.get("acct_bench", job_id)
            assert job.status.value == "ready" and job.finished_at is not None, job
            return (job.finished_at - killed).total_seconds()
        finally:
            stop(workers)


async def serve_worker(url: str, backend: str, concurrency: int, lease_s: float | None) -> None:
    settings: dict[str, object] = {"backend": JobBackend(backend), "workers": concurrency}
    if lease_s is not None:
        settings["lease_s"] = lease_s
    async with runner_on(url, **settings) as runner:
        loop = asyncio.get_running_loop()
        serving = asyncio.create_task(runner.serve())
        loop.add_signal_handler(signal.SIGTERM, serving.cancel)
        await asyncio.gather(serving, return_exceptions=True)


# -- PostgreSQL databases -------------------------------------------------------------------------------------


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    import uuid

    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN, timeout=3)
    name = f"picsha_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(values) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sqlite = lambda name: f"sqlite+aiosqlite:///{folder / name}"  # noqa: E731
        print(f"1. throughput, {args.jobs} no-op jobs, 1 process with 2 workers")
        bare = await bare_writes(sqlite("bare.db"), args.jobs)
        enqueued, completed = await throughput(sqlite("jobs.db"), args.jobs)
        print(f"   SQLite      bare INSERT+UPDATE {bare:8.0f}/s | enqueue {enqueued:7.0f} jobs/s | "
              f"completed {completed:7.0f} jobs/s ({completed / bare:.2f}x bare; target >= 300/s)")
        if not args.skip_postgres:
            async with postgres_database() as pg_bare, postgres_database() as pg_jobs:
                bare = await bare_writes(pg_bare, args.jobs)
                enqueued, completed = await throughput(pg_jobs, args.jobs)
            print(f"   PostgreSQL  bare INSERT+UPDATE {bare:8.0f}/s | enqueue {enqueued:7.0f} jobs/s | "
                  f"completed {completed:7.0f} jobs/s ({completed / bare:.2f}x bare)")

        print(f"2. terminal SSE event at a client of another process, {args.samples} jobs")
        (folder / "sqlite-serve").mkdir()
        latencies = await progress_latency(sqlite("sqlite-serve/catalog.db"), folder / "sqlite-serve", args.samples)
        print(f"   SQLite      {_ms(latencies)}  (target p50 <= 1000 ms)")
        if not args.skip_postgres:
            (folder / "pg-serve").mkdir()
            async with postgres_database() as pg:
                latencies = await progress_latency(pg, folder / "pg-serve", args.samples)
            print(f"   PostgreSQL  {_ms(latencies)}  (target p50 <= 50 ms)")

        log = folder / "workers.log"
        if not args.skip_postgres:
            print(f"3. distributed: {args.sleep_jobs} jobs of {SLEEP_S} s I/O wait, workers of concurrency 4")
            async with postgres_database() as pg:
                one = await scale_out(pg, "distributed", 1, args.sleep_jobs, 4, log)
                two = await scale_out(pg, "distributed", 2, args.sleep_jobs, 4, log)
            print(f"   1 worker {one:6.1f} jobs/s | 2 workers {two:6.1f} jobs/s | ratio {two / one:.2f}x (target >= 1.8x)")
        if not args.skip_recovery:
            print("4. recovery after SIGKILL of the worker holding a job (5 s job)")
            lease = args.lease
            recovered = await recovery(sqlite("recovery.db"), "embedded", log, lease)
            print(f"   embedded/SQLite      finished {recovered:5.1f} s after the kill (lease {lease or 30:g} s)")
            if not args.skip_postgres:
                async with postgres_database() as pg:
                    recovered = await recovery(pg, "distributed", log, lease)
                print(f"   distributed/Postgres finished {recovered:5.1f} s after the kill (lease {lease or 30:g} s)")
        if args.verbose:
            print(log.read_text()[-4000:] if log.exists() else "")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    worker = sub.add_parser("worker", help="(internal) serve the bench's job kinds")
    worker.add_argument("--url", required=True)
    worker.add_argument("--backend", default="embedded")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--lease", type=float, default=None)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--sleep-jobs", type=int, default=240)
    parser.add_argument("--lease", type=float, default=None, help="lease for the recovery run (default: 30 s)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.mode == "worker":
        asyncio.run(serve_worker(args.url, args.backend, args.concurrency, args.lease))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
