"""``/v1/jobs/{id}`` and the skills routes (``/v1/assets/skills``, ``/v1/assets/{id}/skills/{name}/run``).

This router is included before the assets router so ``/v1/assets/skills`` is not read as an asset id.
"""

from __future__ import annotations

from fastapi import APIRouter

from engine.enrich.service import SkillRun
from engine.enrich.skills import Skill
from engine.jobs import Job
from picsha_mcp.rest.deps import EngineDep, PrincipalDep

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=Job)
async def get_job(job_id: str, engine: EngineDep, principal: PrincipalDep) -> Job:
    """A background job's status and per-step results (name, ok, error, duration)."""
    return await engine.jobs.get(principal.account_id, job_id)


@router.get("/assets/skills", response_model=list[Skill], tags=["assets"])
async def list_skills(engine: EngineDep, principal: PrincipalDep) -> list[Skill]:
    """The analyses that run on uploads and can be run again on one asset."""
    return engine.enrich.skills()


@router.post("/assets/{asset_id}/skills/{name}/run", response_model=SkillRun, tags=["assets"])
async def run_skill(asset_id: str, name: str, engine: EngineDep, principal: PrincipalDep) -> SkillRun:
    """Run one analysis again (then re-index the asset) and answer with the job and the updated asset."""
    return await engine.enrich.run_skill(principal, asset_id, name)
