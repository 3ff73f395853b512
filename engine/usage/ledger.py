"""Usage ledger. Costs shown anywhere (asset ``cost``, ``/v1/usage``) are sums of these rows."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.ids import IdPrefix, new_id
from engine.settings import PriceTable

GB = 1_000_000_000

_calling_key: ContextVar[str | None] = ContextVar("picsha_calling_key", default=None)


def attribute_to(key_id: str | None) -> None:
    """Ledger rows written from here on in this context (a request and the tasks it starts) name this key: a
    key's spend, and so its credit limit, is read from the ledger."""
    _calling_key.set(key_id)


class UsageKind(StrEnum):
    STORAGE = "storage"  # bytes stored, priced as one month of storage at upload
    BANDWIDTH = "bandwidth"  # bytes delivered
    AI_OPERATION = "ai_operation"  # one model or paid-API call
    RENDER = "render"  # one derivative rendered
    GENERATION = "generation"  # one generated image, at the provider's charge


class GenerationUsage(BaseModel):
    images: int = 0
    spend: str = "$0.0000"


class UsageBreakdown(BaseModel):
    storage_gb: float
    ai_operations: int
    bandwidth_gb: float
    generation: GenerationUsage = Field(default_factory=GenerationUsage, description="Generated images and their cost.")


class UsageSummary(BaseModel):
    period: str
    period_start: datetime
    total_spend: str
    currency: str = "USD"
    breakdown: UsageBreakdown


def format_usd(micros: int) -> str:
    return f"${micros / 1_000_000:.4f}"


class UsageLedger:
    def __init__(self, catalog: Catalog, prices: PriceTable):
        self.catalog = catalog
        self.prices = prices

    def price_micros(self, kind: UsageKind, quantity: float, override_usd: float | None = None) -> int:
        if override_usd is not None:
            return round(override_usd * 1_000_000)
        unit_price = {
            UsageKind.STORAGE: self.prices.storage_per_gb_month / GB,
            UsageKind.BANDWIDTH: self.prices.bandwidth_per_gb / GB,
            UsageKind.AI_OPERATION: self.prices.ai_operation,
            UsageKind.RENDER: self.prices.render,
            UsageKind.GENERATION: 0.0,  # always written with the provider's charge (cost_usd)
        }[kind]
        return round(unit_price * quantity * 1_000_000)

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
    ) -> int:
        """Write one ledger row; ``cost_usd`` overrides the price table (a provider's actual charge)."""
        amount = self.price_micros(kind, quantity, cost_usd)
        unit = {UsageKind.STORAGE: "bytes", UsageKind.BANDWIDTH: "bytes"}.get(kind, "operations")
        insert = tables.usage_events.insert().values(
            id=new_id(IdPrefix.USAGE), account_id=account_id, asset_id=asset_id, kind=kind.value,
            quantity=quantity, unit=unit, amount_micros=amount, detail=detail or {}, created_at=now(),
            key_id=_calling_key.get(),
        )
        if conn is not None:
            await conn.execute(insert)
        else:
            async with self.catalog.begin() as own:
                await own.execute(insert)
        return amount

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
        moment = at or datetime.now(UTC)
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        u = tables.usage_events
        query = (
            sa.select(u.c.kind, sa.func.sum(u.c.quantity), sa.func.count(), sa.func.sum(u.c.amount_micros))
            .where(u.c.account_id == account_id, u.c.created_at >= start)
            .group_by(u.c.kind)
        )
        async with self.catalog.connect() as conn:
            rows = {row[0]: row for row in await conn.execute(query)}

        def quantity(kind: UsageKind) -> float:
            return float(rows[kind.value][1]) if kind.value in rows else 0.0

        total = sum(int(row[3] or 0) for row in rows.values())
        generated = rows.get(UsageKind.GENERATION.value)
        return UsageSummary(
            period="current_month",
            period_start=start,
            total_spend=format_usd(total),
            breakdown=UsageBreakdown(
                storage_gb=round(quantity(UsageKind.STORAGE) / GB, 6),
                ai_operations=int(rows[UsageKind.AI_OPERATION.value][2]) if UsageKind.AI_OPERATION.value in rows else 0,
                bandwidth_gb=round(quantity(UsageKind.BANDWIDTH) / GB, 6),
                generation=GenerationUsage(
                    images=int(generated[2]) if generated else 0, spend=format_usd(int(generated[3] or 0) if generated else 0)
                ),
            ),
        )
