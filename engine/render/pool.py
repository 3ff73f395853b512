"""A bounded pool of render workers: ``workers`` run at once, ``queue`` more may wait, the rest get Busy.

Answering "busy" (503 + Retry-After) when the queue is full keeps a burst from piling up threads and
memory. ``runs`` counts the renders that reached libvips: tests use it to prove a cache hit did not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

from engine.errors import Busy

T = TypeVar("T")


class RenderPool:
    def __init__(self, *, workers: int, queue: int, retry_after_s: int = 1):
        self.limiter = anyio.CapacityLimiter(workers)
        self.capacity = workers + queue
        self.retry_after_s = retry_after_s
        self.admitted = 0
        self.runs = 0

    async def run(self, work: Callable[[], T], *, wait: bool = False) -> T:
        """Run ``work`` on a worker thread; raise ``Busy`` when the pool and its queue are full.

        ``wait=True`` (ingest) queues regardless: an upload is not refused because renders are busy.
        """
        if not wait and self.admitted >= self.capacity:
            raise Busy(
                f"All {self.capacity} render slots are taken; retry in {self.retry_after_s} s.",
                code="render_busy", retry_after=self.retry_after_s,
            )
        self.admitted += 1
        try:
            return await anyio.to_thread.run_sync(self._counted(work), limiter=self.limiter)
        finally:
            self.admitted -= 1

    def _counted(self, work: Callable[[], T]) -> Callable[[], T]:
        def call() -> T:
            self.runs += 1
            return work()

        return call
