"""``/v1/scrape`` (start a scrape job), ``/v1/jobs/{id}/download`` (its files as one ZIP) and
``/v1/automation/schedules`` (recurring scrapes)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from engine.scrape.models import Queued, Schedule, ScheduleCreate, ScheduleCreated, ScrapeRequest
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from picsha_mcp.rest.jobs import JOB_ID_HEADER
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1", tags=["scrape"])


@router.post("/scrape", status_code=202, response_model=Queued)
@needs(Scope.SCRAPE)
async def start_scrape(body: ScrapeRequest, engine: EngineDep, principal: PrincipalDep, response: Response) -> Queued:
    """Collect the images of a page (sniper_mode) or a site (crawl_depth 0-2) as a job: poll ``poll_url``
    (``GET /v1/jobs/{id}``; its ``result`` has the files and what was skipped and why) or follow
    ``/v1/jobs/{id}/progress``."""
    queued = await engine.scrape.start(principal, body)
    response.headers[JOB_ID_HEADER] = queued.job_id
    return queued


@router.get("/jobs/{job_id}/download", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "The scrape's files as one ZIP."}})
@needs(Scope.SCRAPE)
async def download_job(job_id: str, engine: EngineDep, principal: PrincipalDep) -> StreamingResponse:
    """A finished scrape job's files as one ZIP, streamed. 409 ``job_not_finished`` while it runs."""
    name, chunks = await engine.scrape.archive(principal, job_id)
    return StreamingResponse(chunks, media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"', JOB_ID_HEADER: job_id})


@router.post("/automation/schedules", status_code=201, response_model=ScheduleCreated, tags=["automation"])
@needs(Scope.SCRAPE)
async def create_schedule(body: ScheduleCreate, engine: EngineDep, principal: PrincipalDep) -> ScheduleCreated:
    """A recurring scrape: daily, weekly or monthly at ``hour`` UTC, or a cron expression. Each run is a job
    and stores only files that are new since the schedule's earlier runs."""
    return await engine.scrape.create_schedule(principal, body)


@router.get("/automation/schedules", response_model=list[Schedule], tags=["automation"])
@needs(Scope.SCRAPE)
async def list_schedules(engine: EngineDep, principal: PrincipalDep) -> list[Schedule]:
    return await engine.scrape.schedules.list(principal)


@router.delete("/automation/schedules/{schedule_id}", response_model=Schedule, tags=["automation"])
@needs(Scope.SCRAPE)
async def delete_schedule(schedule_id: str, engine: EngineDep, principal: PrincipalDep) -> Schedule:
    return await engine.scrape.schedules.delete(principal, schedule_id)


@router.post("/automation/schedules/{schedule_id}/toggle", response_model=Schedule, tags=["automation"])
@needs(Scope.SCRAPE)
async def toggle_schedule(schedule_id: str, engine: EngineDep, principal: PrincipalDep) -> Schedule:
    """Disable an enabled schedule, or enable a disabled one (its next run counted from now)."""
    return await engine.scrape.schedules.toggle(principal, schedule_id)
