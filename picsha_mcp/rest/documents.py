"""``/v1/assets/{id}/pdf``: an office document's PDF view (made by ``engine.documents``), with HTTP Range."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from picsha_mcp.rest.delivery import PRIVATE_CACHE, SIGNED_CACHE, authorize, stream_content
from picsha_mcp.rest.deps import EngineDep
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1/assets", tags=["assets"])


@router.get("/{asset_id}/pdf")
@needs(Scope.ASSETS_READ)
async def get_pdf_view(asset_id: str, request: Request, engine: EngineDep) -> Response:
    """The PDF view of an office document (urls.pdf_view). Works with a key, a signed URL, or for a public
    asset; 404 asset_pdf_view_missing until its conversion finished (or when it failed)."""
    content = await authorize(request, engine, asset_id, engine.documents.pdf_view)
    cache = SIGNED_CACHE if engine.signer.is_signed(request.query_params) else PRIVATE_CACHE
    return stream_content(request, engine, content, cache_control=cache)
