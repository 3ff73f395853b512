"""Login attempts counted per username and per client address in fixed windows, in this process's memory:
enough to make guessing slow (each process counts its own)."""

from __future__ import annotations

import math
import time

from engine.errors import PicshaError

MAX_TRACKED = 50_000  # names and addresses remembered at once (the oldest go first)


class LoginThrottle:
    def __init__(self, *, per_user: int, per_ip: int, window_s: float):
        self.limits = {"user": per_user, "ip": per_ip}
        self.window_s = window_s
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # (kind, who) -> (window start, attempts)

    def attempt(self, *, username: str, ip: str | None) -> None:
        """Count one attempt; raise 429 ``login_rate_limited`` (with ``retry_after``) past either limit."""
        moment = time.monotonic()
        for kind, who in (("user", username.casefold()), ("ip", ip or "unknown")):
            start, count = self._seen.get((kind, who), (moment, 0))
            if moment - start >= self.window_s:
                start, count = moment, 0
            if count >= self.limits[kind]:
                retry = max(1, math.ceil(self.window_s - (moment - start)))
                raise PicshaError("Too many login attempts; wait before trying again.", code="login_rate_limited",
                                  status=429, retry_after=retry)
            if len(self._seen) >= MAX_TRACKED:
                self._seen.pop(next(iter(self._seen)))
            self._seen[(kind, who)] = (start, count + 1)
