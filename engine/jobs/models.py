"""The job contract: a persisted unit of background work with per-step results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


FINISHED = (JobStatus.READY, JobStatus.FAILED)


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
    asset_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepResult] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Names the failing step when the job failed.")
    attempts: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
