"""Per-host politeness: at most N requests in flight to one host, a pause between two requests to it (the
longer of the configured delay and its robots.txt Crawl-delay), and a longer pause after a Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class HostGate:
    concurrency: int
    delay_s: float
    next_at: float = 0.0
    slots: asyncio.Semaphore = field(init=False)
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self.slots:
            async with self.turn:  # requests start one delay apart, whichever slot they hold
                wait = self.next_at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.next_at = time.monotonic() + self.delay_s
            yield

    def pause(self, seconds: float) -> None:
        """The host asked for a break (Retry-After): no request starts before it is over."""
        self.next_at = max(self.next_at, time.monotonic() + seconds)


class HostGates:
    """One gate per host (host:port) for the life of one scrape job."""

    def __init__(self, *, concurrency: int, delay_s: float):
        self.concurrency = concurrency
        self.delay_s = delay_s
        self.gates: dict[str, HostGate] = {}

    def of(self, url: str) -> HostGate:
        key = urlsplit(url).netloc
        gate = self.gates.get(key)
        if gate is None:
            gate = self.gates[key] = HostGate(self.concurrency, self.delay_s)
        return gate

    def honour_crawl_delay(self, url: str, crawl_delay_s: float) -> None:
        gate = self.of(url)
        gate.delay_s = max(gate.delay_s, crawl_delay_s)
