"""A job worker process for tests/engine/jobs/test_worker_processes.py: a backend serving one kind,
``steps``, that notes each start and end (with this process's id) in a file, so a test can count runs.

    python tests/engine/jobs/worker_process.py <catalog url> <runs file> [embedded|distributed]

Prints ``serving`` once it takes jobs; SIGTERM stops it the way ``picsha worker`` stops.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from engine.catalog import Catalog
from engine.jobs import JobBackend, JobContext, JobKind, JobPolicy, JobSettings
from engine.jobs.factory import open_jobs

LEASE_S = 3.0
STEP_S = 0.25


async def main(url: str, runs: str, backend: JobBackend) -> None:
    def note(what: str, job: JobContext) -> None:
        with open(runs, "a", encoding="utf-8") as file:  # one short appended line per write
            file.write(f"{what} {job.id} {os.getpid()}\n")

    async def steps(job: JobContext) -> dict[str, int]:
        note("start", job)
        count = int(job.payload.get("steps", 0))
        for n in range(count):
            await job.run_step(f"step{n}", lambda: asyncio.sleep(STEP_S))  # type: ignore[arg-type,return-value]
        note("end", job)
        return {"steps": count}

    catalog = Catalog(url)
    runner = await open_jobs(catalog, JobSettings(backend=backend, lease_s=LEASE_S, workers=2))
    runner.declare([JobKind("steps", steps, JobPolicy())])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    serving = asyncio.create_task(runner.serve())
    print("serving", flush=True)
    await stop.wait()
    runner.accepting = False
    await serving
    await runner.close()
    await catalog.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], JobBackend(sys.argv[3] if len(sys.argv) > 3 else "distributed")))
