"""What a job handler sees: the job, ``run_step`` which times and records each step, and ``report``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.jobs.models import StepResult

StepFn = Callable[[], Awaitable[str | None]]
"""A step returns ``None`` when it did its work, or the reason it skipped (``"no CLIP weights"``)."""

Save = Callable[..., Awaitable[None]]


class JobCancelled(Exception):
    """Raised at a step boundary once the job was asked to stop."""


@dataclass
class JobContext:
    id: str
    kind: str
    account_id: str
    asset_id: str | None
    payload: dict[str, Any]
    save: Save
    attempt: int = 1
    steps: list[StepResult] = field(default_factory=list)
    cancel_requested: bool = False

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if not step.ok), None)

    def check_cancelled(self) -> None:
        if self.cancel_requested:
            raise JobCancelled(f"job {self.id} was cancelled")

    async def report(self, *, progress: float | None = None, message: str | None = None, done: int | None = None,
                     total: int | None = None) -> None:
        """Tell watchers how far the job is (0-100), what it does, and for many items how many are done."""
        self.check_cancelled()
        values: dict[str, Any] = {}
        if progress is None and done is not None and total:
            progress = 100.0 * done / total
        if progress is not None:
            values["progress"] = max(0.0, min(100.0, float(progress)))
        for name, value in (("message", message), ("done", done), ("total", total)):
            if value is not None:
                values[name] = value[:500] if isinstance(value, str) else value
        if values:
            await self.save(**values)

    async def run_step(self, name: str, fn: StepFn) -> bool:
        """Run one step; an exception becomes a failed step (named, with its message), not a crashed job."""
        self.check_cancelled()
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
        await self.save(steps=self.steps, message=f"{name} done" if result.ok else f"{name} failed")
        return result.ok
