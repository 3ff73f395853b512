"""Plan settings: rate limits and quotas per plan, which plan each account is on, and where counters live."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

DEFAULT_PLAN = "default"


class RateBackend(StrEnum):
    MEMORY = "memory"  # counters in this process (one picsha serve)
    REDIS = "redis"  # counters shared by every process and machine (scale-out)


class RateStrategy(StrEnum):
    SLIDING_WINDOW = "sliding-window"  # two counters per limit (this window's, the last one's, weighted): O(1)
    MOVING_WINDOW = "moving-window"  # exact, but keeps a timestamp per request: O(limit) per check in memory
    FIXED_WINDOW = "fixed-window"  # one counter per window: allows twice the rate across a window's edge


class Work(StrEnum):
    """Requests that cost more than one: each counts as its weight against the rate limits."""

    REQUEST = "request"
    RENDER_COLD = "render_cold"  # a render that ran (a cached one is a plain request)
    ANALYSIS = "analysis"  # AI analyses and AI image tools
    GENERATE = "generate"
    SCRAPE = "scrape"


AI_WORK = frozenset({Work.ANALYSIS, Work.GENERATE})  # work that counts against the AI-operations quota


class Rate(BaseModel):
    """One caller's allowance: a sustained rate and a burst. None: no limit of that kind."""

    per_minute: int | None = Field(default=None, ge=1, description="Requests (by weight) in any minute.")
    burst: int | None = Field(default=None, ge=1, description="Requests (by weight) in any one second.")


class Plan(BaseModel):
    key: Rate = Field(default_factory=Rate, description="Each API key's allowance.")
    account: Rate = Field(default_factory=Rate, description="All of an account's keys together.")
    storage_bytes: int | None = Field(default=None, ge=0, description="Most bytes an account stores; None: no quota.")
    ai_operations_per_month: int | None = Field(
        default=None, ge=0, description="Most AI operations (analyses, AI tools, generated images) per calendar month."
    )


def _default_weights() -> dict[Work, int]:
    return {Work.REQUEST: 1, Work.RENDER_COLD: 5, Work.ANALYSIS: 10, Work.GENERATE: 20, Work.SCRAPE: 20}


class LimitSettings(BaseModel):
    """``PICSHA_LIMITS__...``. Every plan is unlimited unless configured; e.g.
    ``PICSHA_LIMITS__PLANS='{"default": {"key": {"per_minute": 600, "burst": 20}, "storage_bytes": 10000000000}}'``."""

    backend: RateBackend = Field(default=RateBackend.MEMORY, description="memory | redis (scale-out).")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis holding the counters (backend redis).")
    strategy: RateStrategy = Field(default=RateStrategy.SLIDING_WINDOW,
                                   description="sliding-window | moving-window | fixed-window.")
    plans: dict[str, Plan] = Field(default_factory=lambda: {DEFAULT_PLAN: Plan()})
    default_plan: str = Field(default=DEFAULT_PLAN, description="The plan of accounts account_plans does not name.")
    account_plans: dict[str, str] = Field(default_factory=dict, description="Account id -> plan name.")
    weights: dict[Work, int] = Field(default_factory=_default_weights, description="What a costly request counts as.")

    @model_validator(mode="after")
    def _plans_exist(self) -> "LimitSettings":
        named = {self.default_plan, *self.account_plans.values()}
        missing = sorted(named - set(self.plans))
        if missing:
            raise ValueError(f"limits: no plan named {', '.join(missing)}; plans: {', '.join(sorted(self.plans))}")
        self.weights = _default_weights() | self.weights
        return self

    def any_rate(self) -> bool:
        return any(rate.per_minute or rate.burst for plan in self.plans.values() for rate in (plan.key, plan.account))

    def plan_of(self, account_id: str) -> Plan:
        return self.plans[self.account_plans.get(account_id, self.default_plan)]
