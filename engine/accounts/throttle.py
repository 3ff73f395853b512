"""Failed logins counted per username and per client address in fixed windows, in this process's memory:
enough to make guessing slow (each process counts its own). Past a limit every attempt is refused, the right
password too, until the window ends."""

from __future__ import annotations

import math
import time

from engine.errors import PicshaError

MAX_TRACKED = 50_000  # names and addresses remembered at once (the oldest go first)


class LoginThrottle:
    def __init__(self, *, per_user: int, per_ip: int, window_s: float):
        self.limits = {"user": per_user, "ip": per_ip}
        self.window_s = window_s
        self._failed: dict[tuple[str, str], tuple[float, int]] = {}  # (kind, who) -> (window start, failures)

    @staticmethod
    def _who(username: str, ip: str | None) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", username.casefold()), ("ip", ip or "unknown")

    def check(self, *, username: str, ip: str | None) -> None:
        """Raise 429 ``login_rate_limited`` (with ``retry_after``) when either has failed too often."""
        moment = time.monotonic()
        for key in self._who(username, ip):
            start, count = self._failed.get(key, (moment, 0))
            if moment - start < self.window_s and count >= self.limits[key[0]]:
                retry = max(1, math.ceil(self.window_s - (moment - start)))
                raise PicshaError("Too many failed logins; wait before trying again.", code="login_rate_limited",
                                  status=429, retry_after=retry)

    def failed(self, *, username: str, ip: str | None) -> None:
        moment = time.monotonic()
        for key in self._who(username, ip):
            start, count = self._failed.get(key, (moment, 0))
            if moment - start >= self.window_s:
                start, count = moment, 0
            if key not in self._failed and len(self._failed) >= MAX_TRACKED:
                self._failed.pop(next(iter(self._failed)))
            self._failed[key] = (start, count + 1)
