"""``POST /v1/assets/render-links``: signed render URLs of many assets at once.

A page showing thumbnails needs links its ``img`` elements can load without a key (they send no
Authorization header), at the size the screen needs, for a page of assets in one request.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from engine.auth.scopes import Scope
from engine.render import RenderParams
from picsha_mcp.rest.access import needs
from picsha_mcp.rest.deps import EngineDep, PrincipalDep

router = APIRouter(prefix="/v1/assets", tags=["render"])


class RenderLinksRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_ids: list[str] = Field(min_length=1, max_length=200)
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Render parameters, as the render query takes them (w, h, fit, format, ...).")
    ttl_s: int | None = Field(default=None, ge=60, le=30 * 86400, description="Expiry in seconds; default: the server's.")


class RenderLinks(BaseModel):
    links: dict[str, str] = Field(description="Asset id -> signed render URL; ids not in this account are left out.")


@router.post("/render-links", response_model=RenderLinks)
@needs(Scope.RENDER)
async def render_links(given: RenderLinksRequest, engine: EngineDep, principal: PrincipalDep) -> RenderLinks:
    """Signed render URLs of many assets with the same parameters (grids of thumbnails at the screen's size)."""
    params = RenderParams.from_query({name: str(value).lower() if isinstance(value, bool) else str(value)
                                      for name, value in given.params.items()})
    return RenderLinks(links=await engine.render.signed_urls(principal, given.asset_ids, params, ttl_s=given.ttl_s))
