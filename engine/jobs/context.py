"""What a job handler sees: the job, and ``run_step`` which times, records and persists each step."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.jobs.models import StepResult

StepFn = Callable[[], Awaitable[str | None]]
"""A step returns ``None`` when it did its work, or the reason it skipped (``"no CLIP weights"``)."""


@dataclass
class JobContext:
    id: str
    kind: str
    account_id: str
    asset_id: str | None
    payload: dict[str, Any]
    save_steps: Callable[[list[StepResult]], Awaitable[None]]
    steps: list[StepResult] = field(default_factory=list)

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if not step.ok), None)

    async def run_step(self, name: str, fn: StepFn) -> bool:
        """Run one step; an exception becomes a failed step (named, with its message), not a crashed job."""
        started = time.perf_counter()
        error: str | None = None
        skipped: str | None = None
        try:
            skipped = await fn()
        except Exception as exc:  # a failing analyzer must not stop the others; the job reports it
            error = f"{type(exc).__name__}: {exc}"[:500]
        result = StepResult(
            name=name, ok=error is None, error=error, skipped=skipped,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        self.steps.append(result)
        await self.save_steps(self.steps)
        return result.ok
