"""robots.txt (RFC 9309) per origin, parsed with protego and kept for a while across jobs.

A missing file (4xx) allows everything; a server error (5xx) disallows everything until it is read again;
an origin that cannot be reached at all is reported as unreachable, not as a robots refusal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from engine.scrape.models import SkipReason
from engine.scrape.skips import Skip
from engine.scrape.urls import origin

ERROR_TTL_S = 60.0  # a robots.txt that could not be read is asked again soon


@dataclass(frozen=True)
class Rules:
    parsed: Protego | None  # None: everything allowed
    refusal: Skip | None = None  # set: everything refused, for this reason
    expires_at: float = 0.0

    def check(self, url: str, agent: str) -> None:
        if self.refusal is not None:
            raise self.refusal
        if self.parsed is not None and not self.parsed.can_fetch(url, agent):
            raise Skip(SkipReason.ROBOTS, "robots.txt disallows it")

    def crawl_delay(self, agent: str) -> float | None:
        delay = self.parsed.crawl_delay(agent) if self.parsed is not None else None
        return float(delay) if delay is not None else None


Read = Callable[[str], Awaitable[tuple[int, bytes]]]
"""Fetch ``<origin>/robots.txt``: (HTTP status, body); raises ``Skip`` when it cannot be fetched."""


class RobotsCache:
    """Shared by the jobs of one process; each origin's file is fetched once at a time."""

    def __init__(self, *, agent: str, ttl_s: float):
        self.agent = agent.split("/", 1)[0].split()[0]
        self.ttl_s = ttl_s
        self.rules: dict[str, Rules] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def rules_for(self, url: str, read: Read) -> Rules:
        key = origin(url)
        cached = self.rules.get(key)
        if cached is not None and cached.expires_at > time.monotonic():
            return cached
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self.rules.get(key)
            if cached is not None and cached.expires_at > time.monotonic():
                return cached
            rules = await self._load(key, read)
            self.rules[key] = rules
            return rules

    async def _load(self, key: str, read: Read) -> Rules:
        fresh = time.monotonic() + self.ttl_s
        try:
            status, body = await read(f"{key}/robots.txt")
        except Skip as skip:
            if skip.reason is SkipReason.ERROR and (skip.detail or "").startswith("HTTP 5"):
                return Rules(None, Skip(SkipReason.ROBOTS, f"robots.txt answered {skip.detail}: treated as disallow all"),
                             time.monotonic() + ERROR_TTL_S)
            if skip.reason is SkipReason.ERROR and (skip.detail or "").startswith("HTTP 4"):
                return Rules(None, None, fresh)  # no robots.txt: everything allowed
            detail = f"the site could not be reached: {skip.detail or skip.reason.value}"
            return Rules(None, Skip(skip.reason, detail), time.monotonic() + ERROR_TTL_S)
        if status >= 400:
            return Rules(None, None, fresh)
        return Rules(Protego.parse(body.decode("utf-8", errors="replace")), None, fresh)
