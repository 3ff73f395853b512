"""``/v1/generate``: images from a prompt, now (``/v1/generate``), queued (``/jobs``) or many (``/batch``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from engine.generation.models import BatchRequest, BatchResult, GenerateRequest, GenerateResult, QueuedGenerate
from engine.jobs import JobStatus
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from picsha_mcp.rest.jobs import JOB_ID_HEADER
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1/generate", tags=["generate"])

FAULTS = {
    400: {"description": "Bad input (empty or long prompt, count, style, provider): the valid values are named."},
    422: {"description": "generate_refused: the provider refused the prompt for safety reasons."},
    502: {"description": "generate_failed: every configured provider failed; tried says why."},
    503: {"description": "generate_no_provider: no provider is configured; the settings are named."},
}


class JobStarted(BaseModel):
    job_id: str
    status: JobStatus
    poll_url: str = Field(description="GET it for status, progress and, once ready, the generate answer as result.")
    progress_url: str = Field(description="Server-Sent Events of the job's progress.")


@router.post("", response_model=GenerateResult, responses=FAULTS)
@needs(Scope.GENERATE)
async def generate(request: GenerateRequest, engine: EngineDep, principal: PrincipalDep) -> GenerateResult:
    """Generate 1-4 images now: providers are tried in order until one succeeds; each image is stored as an
    asset (url is its signed URL, or a data: URI with inline=true) and its cost written to the usage ledger."""
    return await engine.generation.generate(principal, request)


@router.post("/jobs", status_code=202, response_model=JobStarted, responses=FAULTS)
@needs(Scope.GENERATE)
async def queue_generate(request: QueuedGenerate, engine: EngineDep, principal: PrincipalDep) -> JSONResponse:
    """The same generation as a job: poll ``poll_url`` (its result is the generate answer). Keys cannot be sent
    with a queued request (the job is stored); configure them in the settings."""
    job = await engine.generation.queue(principal, request)
    poll = f"/v1/jobs/{job.id}"
    started = JobStarted(job_id=job.id, status=job.status, poll_url=poll, progress_url=f"{poll}/progress")
    return JSONResponse(started.model_dump(mode="json"), status_code=202,
                        headers={JOB_ID_HEADER: job.id, "Location": poll})


@router.post("/batch", response_model=BatchResult, responses=FAULTS)
@needs(Scope.GENERATE)
async def generate_batch(request: BatchRequest, engine: EngineDep, principal: PrincipalDep) -> BatchResult:
    """Up to 10 prompts at once, each answered like ``/v1/generate`` or with its own error."""
    return await engine.generation.batch(principal, request)
