"""A PATCH's lease on its upload row, kept for as long as the write runs, whatever the client's byte rate.

A timer renews the lease every third of its length. Bytes go to disk only under a lease renewed less than
half a lease ago (``hold``), so a writer that stalled renews before writing and a lease that lapsed and was
taken by a retried PATCH is found out before a byte is written. The moment a renewal finds the lease in
another writer's hands, the write is cancelled and answers ``upload_locked``: no further byte, no row
update, and the spool file is left to the writer that holds the lease now.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from engine.errors import PicshaError
from engine.uploads.records import UploadRecords

log = logging.getLogger("picsha.uploads")
T = TypeVar("T")


def locked() -> PicshaError:
    return PicshaError(
        "Another request is writing this upload; retry once it has finished.", code="upload_locked", status=423
    )


class WriteLease:
    """The lease ``token`` holds on ``upload_id``, just taken by the caller."""

    def __init__(self, records: UploadRecords, upload_id: str, token: str, seconds: float):
        self.records, self.upload_id, self.token, self.seconds = records, upload_id, token, seconds
        self.lost = False
        self._renewed = time.monotonic()
        self._scope: anyio.CancelScope | None = None

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work`` while the timer keeps the lease; ``upload_locked`` if the lease is lost meanwhile."""
        keeper = asyncio.ensure_future(self._keep())
        try:
            with anyio.CancelScope() as self._scope:
                result = await work()
        finally:
            self._scope = None
            keeper.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait([keeper])
        if self.lost:  # cancelled by the timer, or lost just as the work ended: nothing of it is recorded
            raise locked()
        return result

    async def hold(self) -> None:
        """Call before bytes go to disk: renews a lease the timer left for half its length; refuses a lost one."""
        if not self.lost and time.monotonic() - self._renewed > self.seconds / 2:
            await self._renew()
        if self.lost:
            raise locked()

    async def _renew(self) -> None:
        started = time.monotonic()
        with anyio.CancelScope(shield=True):  # a renewal is one statement: let it finish
            held = await self.records.renew_lease(self.upload_id, self.token, self.seconds)
        if held:
            self._renewed = max(self._renewed, started)
            return
        self.lost = True
        if self._scope is not None:
            self._scope.cancel()

    async def _keep(self) -> None:
        while not self.lost:
            await anyio.sleep(self.seconds / 3)
            try:
                await self._renew()
            except Exception:  # noqa: BLE001 - the catalog hiccuped: the next tick (or hold) tries again
                log.warning("renewing the lease on upload %s failed", self.upload_id, exc_info=True)
