"""The expired-upload sweeper stops between sweeps, never in the middle of one."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from engine.uploads.sweeper import Sweeper


class SlowSweeps:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = 0
        self.cancelled = False

    async def sweep(self) -> int:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.finished += 1
        return 0


async def test_stop_lets_the_sweep_in_progress_finish() -> None:
    service = SlowSweeps()
    sweeper = Sweeper(cast(Any, service), interval_s=3600)
    sweeper.start()
    await service.started.wait()

    stopping = asyncio.create_task(sweeper.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for the sweep instead of cutting it off

    service.release.set()
    await asyncio.wait_for(stopping, 5)
    assert service.finished == 1 and not service.cancelled and sweeper.task is None


async def test_stop_ends_the_wait_between_sweeps_at_once() -> None:
    service = SlowSweeps()
    service.release.set()
    sweeper = Sweeper(cast(Any, service), interval_s=3600)
    sweeper.start()
    await service.started.wait()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(sweeper.stop(), 2)  # not an hour
    assert service.finished == 1
