"""The job backends every job test runs on: embedded on SQLite, embedded on PostgreSQL, and distributed
(procrastinate) on PostgreSQL. Each runner is built by ``open_jobs`` as the engine builds it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.catalog import Catalog
from engine.jobs import JobBackend, JobKind, JobRunner, JobSettings
from engine.jobs.factory import open_jobs
from tests.postgres import fresh_database


@dataclass(frozen=True)
class Backend:
    jobs: JobBackend
    catalog: Catalog


@pytest.fixture(params=[
    pytest.param((JobBackend.EMBEDDED, "sqlite"), id="embedded-sqlite"),
    pytest.param((JobBackend.EMBEDDED, "postgres"), id="embedded-postgres"),
    pytest.param((JobBackend.DISTRIBUTED, "postgres"), id="distributed-postgres"),
])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    jobs, database = request.param
    if database == "sqlite":
        async for opened in _catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"):
            yield Backend(jobs, opened)
        return
    async for url in fresh_database():
        async for opened in _catalog(url):
            yield Backend(jobs, opened)


async def _catalog(url: str) -> AsyncIterator[Catalog]:
    catalog = Catalog(url)
    await catalog.migrate()
    try:
        yield catalog
    finally:
        await catalog.close()


@asynccontextmanager
async def running(backend: Backend, *kinds: JobKind, serve: bool = True,
                  **settings: object) -> AsyncIterator[JobRunner]:
    values: dict[str, object] = {"backend": backend.jobs, "lease_s": 2.0, "poll_max_s": 0.1, **settings}
    runner = await open_jobs(backend.catalog, JobSettings(**values))  # type: ignore[arg-type]
    runner.declare(list(kinds))
    serving = asyncio.create_task(runner.serve()) if serve else None
    try:
        yield runner
    finally:
        if serving is not None:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        await runner.close()


