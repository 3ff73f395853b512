"""An overloaded catalog answers ``Busy`` (503 with Retry-After at the door), never an unexpected error."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from engine.catalog import Catalog
from engine.errors import Busy


async def test_no_free_connection_is_busy_not_a_crash(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}", pool_wait_s=0.2)
    await catalog.migrate()
    try:
        async with AsyncExitStack() as held:
            for _ in range(20):  # every connection the pool may open
                await held.enter_async_context(catalog.connect())
            for opening in (catalog.connect, catalog.begin):
                with pytest.raises(Busy) as busy:
                    async with opening():
                        pass
                assert busy.value.status == 503 and busy.value.code == "catalog_busy" and busy.value.retry_after >= 1
        async with catalog.connect():  # free again once the others are returned
            pass
    finally:
        await catalog.close()


async def test_a_write_lock_held_past_the_busy_timeout_is_busy(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "catalog.db"
    catalog = Catalog(f"sqlite+aiosqlite:///{path}")
    await catalog.migrate()
    other = sqlite3.connect(path, timeout=0)  # another process's writer, holding the lock
    other.execute("BEGIN IMMEDIATE")
    try:
        async with catalog.connect() as conn:  # shorten SQLite's busy timeout for this test only
            await conn.exec_driver_sql("PRAGMA busy_timeout=100")
            await conn.commit()

        async def write() -> None:
            async with catalog.begin() as conn:
                await conn.exec_driver_sql("PRAGMA busy_timeout=100")
                await conn.exec_driver_sql("INSERT INTO accounts (id, name, is_owner, created_at) "
                                           "VALUES ('acct_x', 'x', 0, '2026-01-01')")

        with pytest.raises(Busy):
            await asyncio.wait_for(write(), 30)
    finally:
        other.rollback()
        other.close()
        await catalog.close()


async def test_the_writers_of_one_process_take_turns_and_a_nested_one_is_refused(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await catalog.migrate()

    async def write(n: int) -> None:
        async with catalog.begin() as conn:
            await conn.exec_driver_sql(f"INSERT INTO accounts (id, name, is_owner, created_at) "
                                       f"VALUES ('acct_{n}', 'n', 0, '2026-01-01')")
            await asyncio.sleep(0)  # let the others try to write meanwhile

    try:
        await asyncio.gather(*(write(n) for n in range(60)))
        async with catalog.connect() as conn:
            count = (await conn.exec_driver_sql("SELECT count(*) FROM accounts WHERE id LIKE 'acct_%'")).scalar()
        async with catalog.begin():
            with pytest.raises(RuntimeError, match="inside another"):
                async with catalog.begin():
                    pass
    finally:
        await catalog.close()
    assert count == 60


async def test_a_write_whose_returned_rows_were_never_read_frees_the_lock_when_its_connection_is_dropped(
        tmp_path: Path) -> None:
    """What a task cancelled between ``UPDATE ... RETURNING`` and reading its rows leaves behind: SQLAlchemy
    drops the connection with that statement unfinished. The write lock must be free at once, not when the
    garbage collector gets to the cursor."""
    import sqlite3

    path = tmp_path / "catalog.db"
    catalog = Catalog(f"sqlite+aiosqlite:///{path}")
    await catalog.migrate()
    async with catalog.begin() as conn:
        await conn.exec_driver_sql("INSERT INTO accounts (id, name, is_owner, created_at) "
                                   "VALUES ('acct_x', 'x', 0, '2026-01-01')")
    other = sqlite3.connect(path, timeout=0.2)
    try:
        for way in ("connection", "cursor"):  # the driver's two ways to run a statement
            async with catalog.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                run = driver.execute if way == "connection" else (await driver.cursor()).execute
                unread = await run("UPDATE accounts SET name = 'y' RETURNING id")  # its rows left unread
                await conn.invalidate()  # what SQLAlchemy does to a connection whose statement was cancelled
                other.execute(f"UPDATE accounts SET name = '{way}'")
                other.commit()
                del unread
        async with catalog.connect() as conn:
            names = (await conn.exec_driver_sql("SELECT name FROM accounts WHERE id = 'acct_x'")).scalars().all()
    finally:
        other.close()
        await catalog.close()
    assert names == ["cursor"]
