"""Migration 6: assets keep their cost (the sum of their ledger rows) in ``cost_micros``, filled from the
ledger once and then added to by the catalog with every ledger row, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from engine.catalog import Catalog, tables
from engine.settings import PriceTable
from engine.usage import UsageKind, UsageLedger

COST_TOTALS_VERSION = 6


def _asset(asset_id: str, moment: datetime) -> dict[str, object]:
    return dict(id=asset_id, account_id="acct_1", status="ready", type="image", filename=f"{asset_id}.jpg",
                content_type="image/jpeg", format="jpeg", size=1, sha256="0" * 64, blob_key=f"k/{asset_id}", exif={},
                tags=[], metadata={}, is_public=False, ai={}, config={}, created_at=moment, updated_at=moment,
                taken_at=moment, taken_offset=None)


def _usage(usage_id: str, asset_id: str | None, micros: int, moment: datetime) -> dict[str, object]:
    return dict(id=usage_id, account_id="acct_1", asset_id=asset_id, kind="bandwidth", quantity=1, unit="bytes",
                amount_micros=micros, detail={}, created_at=moment)


async def _costs(catalog: Catalog) -> dict[str, int]:
    a = tables.assets
    async with catalog.connect() as conn:
        return dict((await conn.execute(sa.select(a.c.id, a.c.cost_micros))).all())


async def test_costs_are_filled_from_the_ledger_then_kept_with_every_row(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    moment = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    try:
        await catalog.migrate(target=COST_TOTALS_VERSION - 1)
        before = sa.Table("assets", sa.MetaData(), *(sa.Column(c.name, c.type) for c in tables.assets.columns
                                                     if c.name != "cost_micros"))
        async with catalog.begin() as conn:
            await conn.execute(sa.text("INSERT INTO accounts (id, name, is_owner, created_at) VALUES ('acct_1', 'a', false, :t)"),
                               {"t": moment})
            await conn.execute(before.insert(), [_asset("as_used", moment), _asset("as_new", moment)])
            await conn.execute(tables.usage_events.insert(), [
                _usage("use_1", "as_used", 1_500, moment), _usage("use_2", "as_used", 2_500, moment),
                _usage("use_3", None, 7_000, moment),
            ])
        assert await catalog.migrate(target=COST_TOTALS_VERSION) == [COST_TOTALS_VERSION]
        assert await _costs(catalog) == {"as_used": 4_000, "as_new": 0}
        await catalog.migrate()  # the ledger writes the newest schema's rows

        ledger = UsageLedger(catalog, PriceTable(ai_operation=0.25))
        await ledger.record(account_id="acct_1", asset_id="as_new", kind=UsageKind.AI_OPERATION, quantity=1)
        await ledger.record(account_id="acct_1", asset_id="as_used", kind=UsageKind.AI_OPERATION, quantity=1,
                            cost_usd=0.001)
        await ledger.record(account_id="acct_1", kind=UsageKind.AI_OPERATION, quantity=1)  # no asset: no total
        async with catalog.begin() as conn:  # a batch in one statement (render deliveries write them so)
            await conn.execute(tables.usage_events.insert(), [_usage(f"use_b{n}", "as_new", 10, moment) for n in range(3)])
        assert await _costs(catalog) == {"as_used": 5_000, "as_new": 250_030}
        summed = await ledger.asset_costs(["as_used", "as_new"])
        assert summed == await _costs(catalog), "the kept total is the ledger's sum"
    finally:
        await catalog.close()
