"""Bandwidth usage of render answers, written in batches: still one ledger row per answer (the rows
``UsageLedger.record`` writes), but one statement and transaction for all the answers of the last few
milliseconds, so a busy cache does not commit per request."""

from __future__ import annotations

import asyncio
import logging

from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.ids import IdPrefix, new_id
from engine.usage import UsageKind, UsageLedger

log = logging.getLogger("picsha.render")


class DeliveryLedger:
    def __init__(self, catalog: Catalog, ledger: UsageLedger, *, delay_s: float = 0.05):
        self.catalog = catalog
        self.ledger = ledger
        self.delay_s = delay_s
        self._pending: list[tuple[str, str, int]] = []
        self._flusher: asyncio.Task[None] | None = None

    def add(self, account_id: str, asset_id: str, size: int) -> None:
        self._pending.append((account_id, asset_id, size))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.delay_s)
        try:
            await self.flush()
        except Exception:  # the rows stay pending and go with the next flush
            log.exception("writing bandwidth usage failed")

    async def flush(self) -> None:
        while self._pending:
            batch = self._pending
            self._pending = []
            stamp = now()
            rows = [
                dict(
                    id=new_id(IdPrefix.USAGE), account_id=account_id, asset_id=asset_id, kind=UsageKind.BANDWIDTH.value,
                    quantity=size, unit="bytes", amount_micros=self.ledger.price_micros(UsageKind.BANDWIDTH, size, None),
                    detail={"via": "render"}, created_at=stamp,
                )
                for account_id, asset_id, size in batch
            ]
            try:
                async with self.catalog.begin() as conn:
                    await conn.execute(tables.usage_events.insert(), rows)  # one statement for the batch
            except Exception:
                self._pending = batch + self._pending
                raise

    async def settle(self) -> None:
        """Write everything pending now (shutdown, tests, before reading usage)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.flush()
