"""Usage ledger. Costs shown anywhere (asset ``cost``, ``/v1/usage``) are sums of these rows, plus (in
``/v1/usage``) the storage meter's byte-hours priced per GB-month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.ids import IdPrefix, new_id
from engine.settings import PriceTable
from engine.usage.meter import StorageMeter, StoredDay
from engine.usage.models import DayUsage, GenerationUsage, KeyUsage, UsageBreakdown, UsageSummary

GB = 1_000_000_000

class UsageKind(StrEnum):
    STORAGE = "storage"  # bytes that arrived (free here: the storage meter bills bytes held over time)
    BANDWIDTH = "bandwidth"  # bytes delivered
    AI_OPERATION = "ai_operation"  # one model or paid-API call
    RENDER = "render"  # one derivative rendered
    GENERATION = "generation"  # one generated image, at the provider's charge


_calling_key: ContextVar[str | None] = ContextVar("picsha_calling_key", default=None)
AI_KINDS = (UsageKind.AI_OPERATION.value, UsageKind.GENERATION.value)


def attribute_to(key_id: str | None) -> None:
    """Ledger rows written from here on in this context (a request and the tasks it starts) name this key: a
    key's spend, and so its credit limit, is read from the ledger."""
    _calling_key.set(key_id)


def calling_key() -> str | None:
    """The key usage is attributed to here (for work that runs later, as a job, to carry along)."""
    return _calling_key.get()


def format_usd(micros: int) -> str:
    return f"${micros / 1_000_000:.4f}"


def format_total(micros: float) -> str:
    """The picsha spec's two-decimal spend (``"$4.12"``)."""
    return f"${micros / 1_000_000:.2f}"


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _month_hours(start: datetime) -> float:
    following = (start + timedelta(days=32)).replace(day=1)
    return (following - start).total_seconds() / 3600


class UsageLedger:
    def __init__(self, catalog: Catalog, prices: PriceTable):
        self.catalog = catalog
        self.prices = prices
        self.meter = StorageMeter()

    def price_micros(self, kind: UsageKind, quantity: float, override_usd: float | None = None) -> int:
        if override_usd is not None:
            return round(override_usd * 1_000_000)
        unit_price = {
            UsageKind.STORAGE: 0.0,  # billed by the meter, per byte-hour held
            UsageKind.BANDWIDTH: self.prices.bandwidth_per_gb / GB,
            UsageKind.AI_OPERATION: self.prices.ai_operation,
            UsageKind.RENDER: self.prices.render,
            UsageKind.GENERATION: 0.0,  # always written with the provider's charge (cost_usd)
        }[kind]
        return round(unit_price * quantity * 1_000_000)

    def storage_micros(self, byte_hours: float, month: datetime) -> float:
        """The price of holding ``byte_hours`` within the month starting at ``month``."""
        return self.prices.storage_per_gb_month * byte_hours / GB / _month_hours(month) * 1_000_000

    async def record(
        self,
        *,
        account_id: str,
        kind: UsageKind,
        quantity: float,
        asset_id: str | None = None,
        cost_usd: float | None = None,
        detail: dict[str, Any] | None = None,
        conn: AsyncConnection | None = None,
        key_id: str | None = None,
    ) -> int:
        """Write one ledger row; ``cost_usd`` overrides the price table (a provider's actual charge). A
        ``STORAGE`` row (bytes that arrived) also moves the storage meter, in the same transaction."""
        amount = self.price_micros(kind, quantity, cost_usd)
        row = self._row(account_id, asset_id, kind, quantity, amount, detail, now(), key_id or _calling_key.get())
        insert = tables.usage_events.insert().values(**row)
        if conn is not None:
            await self._write(conn, insert, account_id, kind, quantity)
        else:
            async with self.catalog.begin() as own:
                await self._write(own, insert, account_id, kind, quantity)
        return amount

    async def record_stored(self, conn: AsyncConnection, account_id: str, sizes: Mapping[str, int]) -> None:
        """``STORAGE`` rows for many new assets of one account (asset id -> bytes), in the caller's transaction:
        one insert, and one move of the storage meter for them all."""
        if not sizes:
            return
        key_id, stamp, kind = _calling_key.get(), now(), UsageKind.STORAGE
        rows = [self._row(account_id, asset_id, kind, size, self.price_micros(kind, size), None, stamp, key_id)
                for asset_id, size in sizes.items()]
        await conn.execute(tables.usage_events.insert(), rows)
        await self.meter.change(conn, account_id, sum(sizes.values()))

    @staticmethod
    def _row(account_id: str, asset_id: str | None, kind: UsageKind, quantity: float, amount_micros: int,
             detail: dict[str, Any] | None, created_at: datetime, key_id: str | None) -> dict[str, Any]:
        unit = {UsageKind.STORAGE: "bytes", UsageKind.BANDWIDTH: "bytes"}.get(kind, "operations")
        return dict(id=new_id(IdPrefix.USAGE), account_id=account_id, asset_id=asset_id, kind=kind.value,
                    quantity=quantity, unit=unit, amount_micros=amount_micros, detail=detail or {},
                    created_at=created_at, key_id=key_id)

    async def _write(self, conn: AsyncConnection, insert: sa.Insert, account_id: str, kind: UsageKind,
                     quantity: float) -> None:
        await conn.execute(insert)
        if kind is UsageKind.STORAGE:
            await self.meter.change(conn, account_id, int(quantity))

    async def released(self, conn: AsyncConnection, account_id: str, nbytes: int) -> None:
        """Bytes no longer stored (assets deleted, in the caller's transaction): the meter stops for them."""
        await self.meter.change(conn, account_id, -nbytes)

    async def stored_bytes(self, account_id: str) -> int:
        async with self.catalog.connect() as conn:
            return await self.meter.level(conn, account_id)

    async def ai_operations(self, account_id: str, *, at: datetime | None = None) -> int:
        """AI operations (analyses, AI tools, generated images) this calendar month."""
        u = tables.usage_events
        query = sa.select(sa.func.coalesce(sa.func.sum(u.c.quantity), 0)).where(
            u.c.account_id == account_id, u.c.created_at >= month_start(at or datetime.now(UTC)), u.c.kind.in_(AI_KINDS))
        async with self.catalog.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def asset_costs(self, asset_ids: Iterable[str], conn: AsyncConnection | None = None) -> dict[str, int]:
        """Sums by asset; on the caller's connection when it has one (a second checkout per request can leave
        every pooled connection waiting for another under load)."""
        ids = list(asset_ids)
        if not ids:
            return {}
        u = tables.usage_events
        query = sa.select(u.c.asset_id, sa.func.sum(u.c.amount_micros)).where(u.c.asset_id.in_(ids)).group_by(u.c.asset_id)
        if conn is None:
            async with self.catalog.connect() as own:
                rows = (await own.execute(query)).all()
        else:
            rows = (await conn.execute(query)).all()
        found = {row[0]: int(row[1]) for row in rows}
        return {asset_id: found.get(asset_id, 0) for asset_id in ids}

    async def summary(self, account_id: str, *, at: datetime | None = None) -> UsageSummary:
        """This month so far: the ledger's rows by kind, key and day, and the storage meter's byte-hours."""
        moment = at or datetime.now(UTC)
        start = month_start(moment)
        u = tables.usage_events
        async with self.catalog.connect() as conn:
            day = _day_of(conn, u.c.created_at)
            query = (
                sa.select(u.c.kind, u.c.key_id, day, sa.func.sum(u.c.quantity), sa.func.count(),
                          sa.func.sum(u.c.amount_micros))
                .where(u.c.account_id == account_id, u.c.created_at >= start, u.c.created_at <= moment)
                .group_by(u.c.kind, u.c.key_id, day)
            )
            rows = (await conn.execute(query)).all()
            stored_days = await self.meter.days(conn, account_id, start.date(), moment)
            level = await self.meter.level(conn, account_id)
        return _summarize(self, rows, stored_days, level, start)


def _day_of(conn: AsyncConnection, column: sa.ColumnElement[datetime]) -> sa.ColumnElement[str]:
    """A timestamp's UTC date as YYYY-MM-DD (SQLite keeps them as UTC text; PostgreSQL converts)."""
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.substr(column, 1, 10)


class _Tally:
    """The month's ledger rows (grouped by kind, key and day) added up overall, by key and by day."""

    def __init__(self, stored_days: list[StoredDay]):
        self.keys: dict[str | None, KeyUsage] = {}
        self.days = {d.day: DayUsage(date=d.day, storage_gb_hours=round(d.byte_hours / GB, 6)) for d in stored_days}
        self.micros: dict[tuple[str, str | date | None], float] = defaultdict(float)
        self.ai_ops = self.images = 0
        self.bandwidth = self.generation_micros = 0.0

    def add(self, kind: str, key_id: str | None, day_text: str, quantity: float, count: int, amount: int) -> None:
        day = date.fromisoformat(str(day_text))
        by_key = self.keys.setdefault(key_id, KeyUsage(key_id=key_id))
        by_day = self.days.setdefault(day, DayUsage(date=day))
        self.micros["key", key_id] += amount
        self.micros["day", day] += amount
        if kind == UsageKind.AI_OPERATION.value:
            self.ai_ops += int(quantity)
            by_key.ai_operations += int(quantity)
            by_day.ai_operations += int(quantity)
        elif kind == UsageKind.GENERATION.value:
            self.images += count
            self.generation_micros += amount
            by_key.generated_images += count
        elif kind == UsageKind.BANDWIDTH.value:
            self.bandwidth += quantity
            by_key.bandwidth_gb += quantity / GB
            by_day.bandwidth_gb += quantity / GB
        elif kind == UsageKind.RENDER.value:
            by_key.renders += int(quantity)


def _summarize(ledger: UsageLedger, rows: list[sa.Row], stored_days: list[StoredDay], level: int,
               start: datetime) -> UsageSummary:
    tally = _Tally(stored_days)
    for kind, key_id, day_text, quantity, count, amount in rows:
        tally.add(kind, key_id, day_text, float(quantity or 0), int(count or 0), int(amount or 0))
    for stored in stored_days:
        tally.micros["day", stored.day] += ledger.storage_micros(stored.byte_hours, start)
    for day, entry in tally.days.items():
        entry.spend, entry.bandwidth_gb = format_usd(round(tally.micros["day", day])), round(entry.bandwidth_gb, 6)
    for key_id, entry in tally.keys.items():
        entry.spend, entry.bandwidth_gb = format_usd(round(tally.micros["key", key_id])), round(entry.bandwidth_gb, 6)
    byte_hours = sum(d.byte_hours for d in stored_days)
    storage = ledger.storage_micros(byte_hours, start)
    total = sum(tally.micros["key", key_id] for key_id in tally.keys) + storage
    return UsageSummary(
        period="current_month",
        period_start=start,
        total_spend=format_total(total),
        total_spend_exact=format_usd(round(total)),
        breakdown=UsageBreakdown(
            storage_gb=round(level / GB, 6),
            storage_gb_hours=round(byte_hours / GB, 6),
            storage_spend=format_usd(round(storage)),
            ai_operations=tally.ai_ops,
            bandwidth_gb=round(tally.bandwidth / GB, 6),
            generation=GenerationUsage(images=tally.images, spend=format_usd(round(tally.generation_micros))),
        ),
        by_key=sorted(tally.keys.values(), key=lambda k: (k.key_id is None, k.key_id or "")),
        by_day=[tally.days[d] for d in sorted(tally.days)],
    )
