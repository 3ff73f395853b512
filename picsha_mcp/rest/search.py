"""``POST /v1/search``: hybrid search over the caller's assets."""

from __future__ import annotations

from fastapi import APIRouter

from engine.search.models import SearchRequest, SearchResponse
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse)
@needs(Scope.SEARCH)
async def search(request: SearchRequest, engine: EngineDep, principal: PrincipalDep) -> SearchResponse:
    """Natural-language query plus filters; full-text and vector results fused by reciprocal rank."""
    async with engine.admission.searches.enter():  # full: 503 search_busy + Retry-After at once
        return await engine.search.search(principal, request)
