"""``Catalog.read``: a read of a few statements in one trip, seeing what transactions committed, on SQLite
(the standard driver on reader threads) and PostgreSQL (a pooled connection through run_sync); and
``Catalog.lookup``, a point read that SQLite answers on the calling thread."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from engine.catalog import Catalog, database, tables


async def test_a_read_sees_committed_rows_and_runs_several_statements(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    await catalog.migrate()
    a = tables.accounts
    try:
        async with catalog.begin() as conn:
            await conn.execute(a.insert(), [dict(id=f"acct_{n}", name=f"n{n}", is_owner=False,
                                                 created_at=datetime(2026, 12, 1, tzinfo=UTC)) for n in range(3)])

        def read(conn: sa.Connection) -> tuple[int, list[str]]:
            count = conn.scalar(sa.select(sa.func.count()).select_from(a))
            return count, list(conn.execute(sa.select(a.c.name).order_by(a.c.name)).scalars())

        assert await catalog.read(read) == (3, ["n0", "n1", "n2"])
        async with catalog.begin() as conn:
            await conn.execute(a.delete().where(a.c.id == "acct_1"))
        assert await catalog.read(read) == (2, ["n0", "n2"])
    finally:
        await catalog.close()


async def test_json_columns_read_back_what_was_stored_even_past_64_bit_integers(catalog_url: str) -> None:
    """JSON columns are read with orjson, which refuses integers past 64 bits; such metadata still reads."""
    catalog = Catalog(catalog_url)
    await catalog.migrate()
    p = tables.pipelines
    stored = {"small": [1, 2.5, "x", None, True], "huge": 2**70, "nested": {"a": {"b": []}}}
    try:
        async with catalog.begin() as conn:
            await conn.execute(tables.accounts.insert().values(
                id="acct_j", name="j", is_owner=False, created_at=datetime(2026, 12, 1, tzinfo=UTC)))
        async with catalog.begin() as conn:
            await conn.execute(p.insert().values(id="pl_j", account_id="acct_j", name="j", steps=stored,
                                                 created_at=datetime(2026, 12, 1, tzinfo=UTC)))
        for read_back in (
            await catalog.read(lambda conn: conn.scalar(sa.select(p.c.steps))),
            await _async_read(catalog, sa.select(p.c.steps)),
        ):
            assert read_back == stored
    finally:
        await catalog.close()


async def test_a_lookup_reads_one_row_on_the_calling_thread_on_sqlite(catalog_url: str) -> None:
    """No thread round trip on SQLite (on PostgreSQL it is a pooled read); it sees every commit, its own
    process's and another connection's, as soon as it is made."""
    catalog = Catalog(catalog_url)
    await catalog.migrate()
    a = tables.accounts
    caller = threading.get_ident()
    try:
        async with catalog.begin() as conn:
            await conn.execute(a.insert().values(id="acct_l", name="before", is_owner=False,
                                                 created_at=datetime(2026, 12, 1, tzinfo=UTC)))

        def name(conn: sa.Connection) -> tuple[str | None, bool]:
            return conn.scalar(sa.select(a.c.name).where(a.c.id == "acct_l")), threading.get_ident() == caller

        found, on_caller = await catalog.lookup(name)
        assert found == "before"
        if catalog.is_sqlite:  # where ``read`` takes a reader thread
            assert on_caller and (await catalog.read(name)) == ("before", False)
        other = Catalog(catalog_url)  # another process's connection, as far as SQLite can tell
        try:
            async with other.begin() as conn:
                await conn.execute(a.update().where(a.c.id == "acct_l").values(name="after"))
        finally:
            await other.close()
        assert (await catalog.lookup(name))[0] == "after"
        # lookups from many tasks at once (each runs to the end before the next starts on SQLite)
        names = await asyncio.gather(*(catalog.lookup(name) for _ in range(20)))
        assert {found for found, _ in names} == {"after"}
    finally:
        await catalog.close()


async def test_a_read_of_a_kind_that_was_quick_runs_on_the_calling_thread_and_a_slow_one_does_not(
        catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``read(kind=...)`` on SQLite: the first read of a kind takes a reader thread; once one took under
    QUICK_READ_S of CPU, the next runs where it is awaited; a kind that costs more stays on the readers.
    The bar is raised for the test, so that a busy machine (or the statement's first compile) cannot make
    the tiny read look slow."""
    monkeypatch.setattr(database, "QUICK_READ_S", 0.05)
    catalog = Catalog(catalog_url)
    await catalog.migrate()
    caller = threading.get_ident()

    def quick(conn: sa.Connection) -> bool:
        conn.scalar(sa.select(sa.func.count()).select_from(tables.accounts))
        return threading.get_ident() == caller

    def slow(conn: sa.Connection) -> bool:
        started = time.thread_time()
        while time.thread_time() - started < 2 * database.QUICK_READ_S:  # CPU, as a count over many rows costs
            conn.scalar(sa.select(sa.func.count()).select_from(tables.accounts))
        return threading.get_ident() == caller

    try:
        runs = [await catalog.read(quick, kind="quick") for _ in range(3)]
        slow_runs = [await catalog.read(slow, kind="slow") for _ in range(3)]
        unnamed = [await catalog.read(quick) for _ in range(2)]
        if catalog.is_sqlite:  # (PostgreSQL reads through run_sync, whose greenlet is the caller's thread)
            assert runs == [False, True, True] and slow_runs == [False, False, False] and unnamed == [False, False]
    finally:
        await catalog.close()


async def _async_read(catalog: Catalog, query: sa.Select) -> object:
    async with catalog.connect() as conn:
        return await conn.scalar(query)
