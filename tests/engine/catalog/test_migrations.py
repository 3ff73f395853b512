"""Migrations from an empty database and from the previous version, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from engine.catalog import Catalog, tables
from engine.catalog.migrations import MIGRATIONS


def _reflect(conn: sa.Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(conn)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}


async def test_from_empty_database_matches_the_declared_schema(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    try:
        assert await catalog.migrate() == list(range(1, len(MIGRATIONS) + 1))
        assert await catalog.migrate() == [], "a second start applies nothing"
        async with catalog.connect() as conn:
            found = await conn.run_sync(_reflect)
    finally:
        await catalog.close()
    declared = {table.name: {c.name for c in table.columns} for table in tables.metadata.sorted_tables}
    assert {name: found[name] for name in declared} == declared


async def test_from_the_previous_version_keeps_data(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    previous = len(MIGRATIONS) - 1
    try:
        assert await catalog.migrate(target=previous) == list(range(1, previous + 1))
        async with catalog.begin() as conn:
            await conn.execute(
                sa.text("INSERT INTO accounts (id, name, is_owner, created_at) VALUES ('acct_1', 'a', false, :t)"),
                {"t": datetime.now(UTC)},
            )
        assert await catalog.migrate() == [len(MIGRATIONS)]
        async with catalog.connect() as conn:
            assert await conn.scalar(sa.select(tables.accounts.c.name).where(tables.accounts.c.id == "acct_1")) == "a"
    finally:
        await catalog.close()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        async with catalog.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await catalog.close()
