"""The background task that removes expired uploads (and their bytes) every ``sweep_interval_s``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from engine.uploads.service import UploadService

log = logging.getLogger("picsha.uploads")


class Sweeper:
    def __init__(self, service: UploadService, interval_s: float):
        self.service = service
        self.interval_s = interval_s
        self.task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self.task = asyncio.create_task(self._run(), name="picsha-upload-sweeper")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                removed = await self.service.sweep()
                if removed:
                    log.info("removed %d expired uploads", removed)
            except Exception:  # noqa: BLE001 - one failed sweep must not end the task
                log.exception("upload sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    async def stop(self) -> None:
        """Let a sweep in progress finish (a catalog call cut off mid-way would answer a closed event
        loop from its driver thread), then end."""
        if self.task is not None:
            self._stopping.set()
            await self.task
            self.task = None
