"""``/v1/jobs/{id}`` (state, cancel, progress stream) and the skills routes (``/v1/assets/skills``, ...).

This router is included before the assets router so ``/v1/assets/skills`` is not read as an asset id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from engine.enrich.service import SkillRun
from engine.enrich.skills import Skill
from engine.jobs import Job, JobProgress
from engine.scrape.models import SCRAPE_KIND, ScrapeJob
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1", tags=["jobs"])

JOB_ID_HEADER = "X-Job-Id"
"""Every response that starts a job names it here."""


@router.get("/jobs/{job_id}", response_model=ScrapeJob | Job)
@needs(Scope.ASSETS_READ)
async def get_job(job_id: str, engine: EngineDep, principal: PrincipalDep) -> ScrapeJob | Job:
    """A background job: status, progress (0-100), message, per-step results, result or error. A scrape job
    answers in the spec's shape as well: ``status`` queued, processing, completed or failed (the job system's
    own is ``job_status``), ``assets {count, items}``, what was skipped and why, pages visited, bytes fetched."""
    job = await engine.jobs.get(principal.account_id, job_id)
    return ScrapeJob.of(job) if job.kind == SCRAPE_KIND else job


@router.post("/jobs/{job_id}/cancel", response_model=Job, responses={409: {"description": "The job already finished."}})
@needs(Scope.ASSETS_WRITE)
async def cancel_job(job_id: str, engine: EngineDep, principal: PrincipalDep) -> Job:
    """Cancel: a queued job stops at once, a running one at its next step. 409 ``job_already_finished``."""
    return await engine.jobs.cancel(principal.account_id, job_id)


@router.get("/jobs/{job_id}/progress", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "JobProgress events."}})
@needs(Scope.ASSETS_READ)
async def job_progress(job_id: str, engine: EngineDep, principal: PrincipalDep) -> EventSourceResponse:
    """Server-Sent Events: ``data: {"progress": 42, "status": "running", "message": ...}`` on every change,
    then one terminal event (``ready``, ``failed`` or ``cancelled``), then the stream closes."""
    await engine.jobs.get(principal.account_id, job_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for job in engine.jobs.watch(principal.account_id, job_id):
            progress = JobProgress(id=job.id, status=job.status, progress=job.progress, message=job.message,
                                   done=job.done, total=job.total, error=job.error)
            yield ServerSentEvent(data=progress.model_dump_json(), event=job.status.value if job.finished else "progress")

    return EventSourceResponse(events(), ping=15, headers={JOB_ID_HEADER: job_id, "Cache-Control": "no-store"})


@router.get("/assets/skills", response_model=list[Skill], tags=["assets"])
@needs(Scope.ASSETS_READ)
async def list_skills(engine: EngineDep, principal: PrincipalDep) -> list[Skill]:
    """The analyses that run on uploads and can be run again on one asset."""
    return engine.enrich.skills()


@router.post("/assets/{asset_id}/skills/{name}/run", response_model=SkillRun, tags=["assets"])
@needs(Scope.ASSETS_WRITE)
async def run_skill(asset_id: str, name: str, engine: EngineDep, principal: PrincipalDep, response: Response) -> SkillRun:
    """Run one analysis again (then re-index the asset) and answer with the job and the updated asset."""
    async with engine.admission.analyses.enter():  # full: 503 analysis_busy + Retry-After at once
        run = await engine.enrich.run_skill(principal, asset_id, name)
    response.headers[JOB_ID_HEADER] = run.job.id
    return run
