"""Rate limits per key and per account, counted by the ``limits`` library in memory or on Redis."""

from __future__ import annotations

import inspect
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter as Strategy,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from limits.limits import RateLimitItem

from engine.errors import PicshaError
from engine.plans.settings import LimitSettings, Plan, RateBackend, RateStrategy

log = logging.getLogger("picsha.limits")

STRATEGIES: dict[RateStrategy, type[Strategy]] = {
    RateStrategy.MOVING_WINDOW: MovingWindowRateLimiter,
    RateStrategy.SLIDING_WINDOW: SlidingWindowCounterRateLimiter,
    RateStrategy.FIXED_WINDOW: FixedWindowRateLimiter,
}
NAMESPACE = "picsha"


@dataclass(frozen=True, slots=True)
class RateState:
    """The tightest of the limits a request was counted against, for the ``RateLimit-*`` headers."""

    limit: int
    remaining: int
    reset_s: int  # seconds until the window frees room again
    window_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={self.window_s}",
        }


class RateLimited(PicshaError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, state: RateState, scope: str):
        super().__init__(message, retry_after=max(1, state.reset_s), limit=state.limit, window_s=state.window_s,
                         scope=scope)
        self.state = state


@dataclass(frozen=True, slots=True)
class _Limit:
    per_key: bool  # counted per API key (else per account)
    item: RateLimitItem


def _compile(plan: Plan) -> tuple[_Limit, ...]:
    """A plan's limits, narrowest first: a request refused by its burst does not use up its minute."""
    limits: list[_Limit] = []
    for per_key, rate in ((True, plan.key), (False, plan.account)):
        if rate.burst:
            limits.append(_Limit(per_key, RateLimitItemPerSecond(rate.burst)))
        if rate.per_minute:
            limits.append(_Limit(per_key, RateLimitItemPerMinute(rate.per_minute)))
    return tuple(limits)


class RateLimiter:
    """``hit`` counts one request (by its weight) against its key's and its account's limits.

    In memory, the counters are this process's (a ``picsha serve --workers N`` allows up to N times the
    rate): the answer's headers are exact and cost microseconds. On Redis every process shares them; a
    success then costs one round trip per limit and its answer carries no ``RateLimit-*`` headers (a refusal
    does). A Redis that cannot be reached lets requests through and logs it: limits protect, they never
    take the service down.
    """

    def __init__(self, settings: LimitSettings):
        self.settings = settings
        self.shared = settings.backend is RateBackend.REDIS
        self.storage: Storage = (
            RedisStorage(_async_uri(settings.redis_url), wrap_exceptions=True, key_prefix=NAMESPACE)
            if self.shared else MemoryStorage()
        )
        self.strategy = STRATEGIES[settings.strategy](self.storage)
        self._plans = {name: _compile(plan) for name, plan in settings.plans.items()}
        self._warned_at = 0.0

    def limits_for(self, account_id: str) -> tuple[_Limit, ...]:
        return self._plans[self.settings.account_plans.get(account_id, self.settings.default_plan)]

    async def hit(self, account_id: str, key_id: str | None, weight: int = 1) -> RateState | None:
        """Count the request; raises ``RateLimited`` (429) over a limit. Returns what the headers say (None:
        no limit applies, or the counters are shared and a success is not worth another round trip)."""
        limits = self.limits_for(account_id)
        if not limits:
            return None
        try:
            for limit in limits:
                ident = key_id if limit.per_key else account_id
                if ident is None:
                    continue
                # a weight above a limit counts as all of it: a burst of 10 still lets a generation through
                if not await self.strategy.hit(limit.item, NAMESPACE, ident, cost=min(weight, limit.item.amount)):
                    raise await self._refusal(limit, ident)
            return None if self.shared else await self._state(limits, account_id, key_id)
        except StorageError as error:
            self._warn(error)
            return None

    async def clear(self, account_id: str, key_id: str | None) -> None:
        for limit in self.limits_for(account_id):
            ident = key_id if limit.per_key else account_id
            if ident is not None:
                await self.strategy.clear(limit.item, NAMESPACE, ident)

    async def _state(self, limits: tuple[_Limit, ...], account_id: str, key_id: str | None) -> RateState | None:
        tightest: RateState | None = None
        for limit in limits:
            ident = key_id if limit.per_key else account_id
            if ident is None:
                continue
            state = await self._stats(limit, ident)
            if tightest is None or state.remaining < tightest.remaining:
                tightest = state
        return tightest

    async def _stats(self, limit: _Limit, ident: str) -> RateState:
        stats = await self.strategy.get_window_stats(limit.item, NAMESPACE, ident)
        window = limit.item.get_expiry()
        reset = min(window, max(0, math.ceil(stats.reset_time - time.time())))
        return RateState(limit=limit.item.amount, remaining=max(0, stats.remaining), reset_s=reset, window_s=window)

    async def _refusal(self, limit: _Limit, ident: str) -> RateLimited:
        state = await self._stats(limit, ident)
        state = RateState(limit=state.limit, remaining=0, reset_s=max(1, state.reset_s), window_s=state.window_s)
        scope = "key" if limit.per_key else "account"
        what = f"{limit.item.amount} per {'second' if state.window_s == 1 else 'minute'}"
        return RateLimited(f"Rate limit of this {scope} reached ({what}); retry after {state.reset_s} s.",
                           state=state, scope=scope)

    def _warn(self, error: Exception) -> None:
        moment = time.monotonic()
        if moment - self._warned_at > 60:  # once a minute, not once a request
            self._warned_at = moment
            log.warning("rate-limit counters unreachable (%s): requests pass unlimited meanwhile", error)

    async def close(self) -> None:
        """Close the Redis connections (``limits`` keeps its client's pool behind a bridge)."""
        client: Any = getattr(getattr(self.storage, "bridge", None), "storage", None)
        pool: Any = getattr(client, "connection_pool", None)
        if pool is not None:
            closing = pool.disconnect()
            if inspect.isawaitable(closing):
                await closing


def _async_uri(url: str) -> str:
    """``limits`` names its asyncio storages ``async+redis://``; settings take the usual ``redis://`` URL."""
    return url if url.startswith("async+") else f"async+{url}"
