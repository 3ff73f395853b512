"""``Catalog.read``: a read of a few statements in one trip, seeing what transactions committed, on SQLite
(the standard driver on reader threads) and PostgreSQL (a pooled connection through run_sync)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from engine.catalog import Catalog, tables


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


async def _async_read(catalog: Catalog, query: sa.Select) -> object:
    async with catalog.connect() as conn:
        return await conn.scalar(query)
