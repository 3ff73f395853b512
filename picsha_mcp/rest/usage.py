"""``GET /v1/usage``: the month's spend, read from the usage ledger."""

from __future__ import annotations

from fastapi import APIRouter

from engine.usage import UsageSummary
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1", tags=["usage"])


@router.get("/usage", response_model=UsageSummary)
@needs(Scope.ASSETS_READ)
async def get_usage(engine: EngineDep, principal: PrincipalDep) -> UsageSummary:
    return await engine.ledger.summary(principal.account_id)
