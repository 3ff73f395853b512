"""A worker's poll on SQLite: when nothing is runnable it takes no write transaction (every process shares
SQLite's one writer); a due job, a job whose worker's lease lapsed, and a job asked for by id are claimed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.catalog import Catalog, tables
from engine.jobs.store import JobStore


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Catalog]:
    opened = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await opened.migrate()
    async with opened.begin() as conn:
        await conn.execute(tables.accounts.insert().values(id="acct_p", name="p", is_owner=False,
                                                           created_at=datetime(2026, 12, 1, tzinfo=UTC)))
    yield opened
    await opened.close()


def count_writes(catalog: Catalog) -> list[int]:
    begun = [0]
    begin = catalog.begin

    @asynccontextmanager
    async def counted():  # type: ignore[no-untyped-def]
        begun[0] += 1
        async with begin() as conn:
            yield conn

    catalog.begin = counted  # type: ignore[method-assign]
    return begun


async def test_an_idle_poll_takes_no_write_transaction_and_runnable_jobs_are_still_claimed(catalog: Catalog) -> None:
    store = JobStore(catalog, keep_s=3600, poll_interval_ms=100)
    async with catalog.begin() as conn:
        later = await store.create(conn, account_id="acct_p", kind="k", run_after=datetime.now(UTC) + timedelta(hours=1))
    begun = count_writes(catalog)
    assert await store.claim("w1", 30) is None  # only a job due in an hour
    assert begun[0] == 0
    async with catalog.begin() as conn:
        due = await store.create(conn, account_id="acct_p", kind="k")
    claimed = await store.claim("w1", 0.05)
    assert claimed is not None and claimed.id == due and begun[0] == 2
    await asyncio.sleep(0.1)  # w1's lease lapses: its job is runnable again
    again = await store.claim("w2", 30)
    assert again is not None and again.id == due and again.resumed
    assert await store.claim("w2", 30) is None and begun[0] == 3  # nothing runnable: no write
    by_id = await store.claim("w2", 30, job_id=later)  # asked for by id: not due, so not claimed, but looked up
    assert by_id is None and begun[0] == 4
