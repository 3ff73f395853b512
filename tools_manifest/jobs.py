"""Job tools: read a background job, or wait a bounded time for it (with MCP progress notifications)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.jobs import Job, JobStatus
from tools_manifest.calls import current_call
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ToolSpec

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

JOB_ID = Field(min_length=5, max_length=80, pattern=r"^job_[A-Za-z0-9]+$", description="Job id (job_...).")
WAIT_MAX_S = 60


class GetJobInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str = JOB_ID


class WaitJobInput(GetJobInput):
    timeout_s: float = Field(default=30, ge=0, le=WAIT_MAX_S, description=f"Longest wait, 0-{WAIT_MAX_S} s.")


class JobState(BaseModel):
    """A job as an agent needs it (the MCP Tasks fields: id, status, statusMessage, pollInterval, ttl)."""

    id: str
    kind: str
    status: JobStatus
    progress: float
    message: str | None = None
    done: int | None = None
    total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    poll_interval_ms: int
    ttl_ms: int | None = None

    @classmethod
    def of(cls, job: Job) -> "JobState":
        return cls(**job.model_dump(include=set(cls.model_fields)))


async def get_job(engine: Engine, principal: Principal, given: GetJobInput) -> JobState:
    return JobState.of(await engine.jobs.get(principal.account_id, given.job_id))


async def wait_job(engine: Engine, principal: Principal, given: WaitJobInput) -> JobState:
    """Follow the job until it finishes or the time is up; each change is a progress notification."""
    progress = current_call().progress
    latest = await engine.jobs.get(principal.account_id, given.job_id)

    async def follow() -> None:
        nonlocal latest
        async for job in engine.jobs.watch(principal.account_id, given.job_id):
            latest = job
            await progress(job.progress, 100, job.message or job.status.value)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(follow(), given.timeout_s)
    return JobState.of(latest)


_JOB_HINTS = Hints(read_only=True, destructive=False, idempotent=True, open_world=False)

TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="get_job",
        scope=Scope.ASSETS_READ,
        listed=False,
        title="Get job",
        description="A background job (analysis, pipeline, scrape, ...) as it stands: status, progress 0-100, "
        "message, result or error.",
        example={"job_id": "job_0123456789abcdef"},
        input=GetJobInput,
        output=JobState,
        hints=_JOB_HINTS,
        cost=Cost(note="free"),
        run=get_job,
    ),
    ToolSpec(
        id="wait_job",
        scope=Scope.ASSETS_READ,
        title="Wait for job",
        description="Wait up to timeout_s (0: not at all) for a background job (analysis, scrape, ...), with "
        "progress; returns its status, progress 0-100, message, result or error. Not finished: call again.",
        example={"job_id": "job_0123456789abcdef", "timeout_s": 30},
        input=WaitJobInput,
        output=JobState,
        hints=_JOB_HINTS,
        cost=Cost(note="free"),
        run=wait_job,
    ),
]
