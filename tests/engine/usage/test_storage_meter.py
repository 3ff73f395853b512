"""The storage meter bills bytes held over time: byte-seconds per day, stopped by deletes, with no writes
for days nothing changed, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.catalog import Catalog
from engine.settings import PriceTable
from engine.usage import UsageKind, UsageLedger

HOUR = 3600


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


async def test_bytes_held_over_time_across_deletes(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    await catalog.migrate()
    meter = UsageLedger(catalog, PriceTable()).meter
    try:
        async with catalog.begin() as conn:
            await meter.change(conn, "acct_a", 1000, at=at(3, 6))  # held 1000 B from 06:00
            await meter.change(conn, "acct_a", 500, at=at(3, 12))  # 1500 B from noon
            await meter.change(conn, "acct_a", -1000, at=at(3, 18))  # a delete: 500 B from 18:00
            await meter.change(conn, "acct_b", 7, at=at(3, 0))  # another account's bytes are its own
            await meter.change(conn, "acct_a", -500, at=at(6, 12))  # the rest deleted three days later
        async with catalog.connect() as conn:
            days = await meter.days(conn, "acct_a", date(2026, 11, 1), at(8, 12))
            level = await meter.level(conn, "acct_a")
            other = await meter.level(conn, "acct_b")
    finally:
        await catalog.close()
    held = {d.day.day: d.byte_seconds / HOUR for d in days}
    assert held[1] == held[2] == 0
    assert held[3] == pytest.approx(1000 * 6 + 1500 * 6 + 500 * 6)
    assert held[4] == held[5] == pytest.approx(500 * 24)  # no row: the level the last change left, all day
    assert held[6] == pytest.approx(500 * 12)
    assert held[7] == held[8] == 0  # deleted: the meter stopped
    assert level == 0 and other == 7


async def test_summary_prices_byte_hours_and_splits_by_key_and_day(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    await catalog.migrate()
    ledger = UsageLedger(catalog, PriceTable(storage_per_gb_month=30.0, ai_operation=0.5))
    try:
        async with catalog.begin() as conn:
            await ledger.meter.change(conn, "acct_a", 10**9, at=datetime(2026, 11, 1, tzinfo=UTC))  # 1 GB
        await ledger.record(account_id="acct_a", kind=UsageKind.AI_OPERATION, quantity=1, key_id="key_1")
        await ledger.record(account_id="acct_a", kind=UsageKind.AI_OPERATION, quantity=2)
        now = datetime.now(UTC)
        summary = await ledger.summary("acct_a", at=now)
    finally:
        await catalog.close()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    held_hours = (now - max(month_start, datetime(2026, 11, 1, tzinfo=UTC))).total_seconds() / HOUR
    assert summary.breakdown.storage_gb == 1.0
    assert summary.breakdown.storage_gb_hours == pytest.approx(held_hours, rel=1e-4)
    assert summary.breakdown.ai_operations == 3
    by_key = {entry.key_id: entry for entry in summary.by_key}
    assert by_key["key_1"].ai_operations == 1 and by_key["key_1"].spend == "$0.5000"
    assert by_key[None].ai_operations == 2 and by_key[None].spend == "$1.0000"
    assert [d.date for d in summary.by_day] == sorted(d.date for d in summary.by_day)
    assert sum(d.ai_operations for d in summary.by_day) == 3
    assert summary.by_day[-1].date == now.date()
    assert summary.total_spend.count(".") == 1 and len(summary.total_spend.split(".")[1]) == 2  # "$4.12"
    assert float(summary.total_spend_exact[1:]) == pytest.approx(1.5 + 30.0 * held_hours / (24 * _days(now)), abs=1e-4)


def _days(moment: datetime) -> int:
    following = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return (following - moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)).days
