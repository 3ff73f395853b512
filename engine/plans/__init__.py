"""Plans: rate limits per key and account, quotas per account, and the account's own settings, applied
before work starts (``engine.plans.service.Plans``; imported from there, as ``engine.settings`` imports
this package's settings)."""

from engine.plans.quotas import QuotaExceeded
from engine.plans.rates import RateLimited, RateState
from engine.plans.settings import LimitSettings, Plan, Rate, RateBackend, RateStrategy, Work

__all__ = ["LimitSettings", "Plan", "QuotaExceeded", "Rate", "RateBackend", "RateLimited", "RateState",
           "RateStrategy", "Work"]
