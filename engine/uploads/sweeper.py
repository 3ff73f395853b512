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

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="picsha-upload-sweeper")

    async def _run(self) -> None:
        while True:
            try:
                removed = await self.service.sweep()
                if removed:
                    log.info("removed %d expired uploads", removed)
            except Exception:  # noqa: BLE001 - one failed sweep must not end the task
                log.exception("upload sweep failed")
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
