"""The job contract: a persisted unit of background work with per-step results and progress.

The JSON is shaped after the MCP Tasks extension (an id, a status, how often to poll, how long it is kept)
so a job can become an MCP task once the SDK carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED)
FINISHED_VALUES = frozenset(status.value for status in FINISHED)


class StepResult(BaseModel):
    name: str
    ok: bool
    error: str | None = None
    skipped: str | None = Field(default=None, description="Why the step did nothing (e.g. 'no CLIP weights').")
    duration_ms: float = Field(ge=0)


class Job(BaseModel):
    id: str
    kind: str
    status: JobStatus
    account_id: str = Field(exclude=True, description="The owner; never shown (every read is scoped by it).")
    asset_id: str | None = None
    progress: float = Field(default=0, ge=0, le=100, description="Percent done, 0-100.")
    message: str | None = Field(default=None, description="What the job is doing now (statusMessage).")
    done: int | None = Field(default=None, ge=0, description="Items finished, for jobs over many items.")
    total: int | None = Field(default=None, ge=0, description="Items in all, for jobs over many items.")
    payload: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepResult] = Field(default_factory=list)
    result: dict[str, Any] | None = Field(default=None, description="What a finished job produced.")
    error: str | None = Field(default=None, description="Names the failing step when the job failed.")
    attempts: int = 0
    poll_interval_ms: int = Field(default=1000, description="How long to wait before asking again (pollInterval).")
    ttl_ms: int | None = Field(default=None, description="How long the job is kept after it finished (ttl).")
    created_at: datetime
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobProgress(BaseModel):
    """One Server-Sent Event of ``GET /v1/jobs/{id}/progress``."""

    id: str
    status: JobStatus
    progress: float
    message: str | None = None
    done: int | None = None
    total: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class JobPolicy:
    """How a kind of job is run: retries (with exponential backoff), a time limit, and whether it may run twice.

    ``final`` lists the exception types that are not worth retrying (bad input stays bad). A job that is not
    ``idempotent`` is not started again after its worker died mid-run: it fails and says so.
    """

    attempts: int = 3
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    time_limit_s: float = 600.0
    idempotent: bool = True
    final: tuple[type[BaseException], ...] = field(default_factory=tuple)
    announce: bool = True  # finishing publishes job.completed / job.failed

    def delay_after(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``."""
        return min(self.backoff_max_s, self.backoff_s * (2 ** max(0, attempt - 1)))
