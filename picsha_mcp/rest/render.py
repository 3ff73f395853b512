"""``GET /v1/assets/{id}/render``: an image of the asset in the size and format asked, cached.

Access: a signed URL (no key needed; tampered or expired -> 403) or the account's key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from starlette.background import BackgroundTask

from engine import Engine
from engine.errors import InvalidInput
from engine.plans import Work
from engine.render import RenderParams, RenderResult
from engine.render.params import VALID
from picsha_mcp.rest.content_headers import attachment, content_headers
from picsha_mcp.rest.delivery import PRIVATE_CACHE, SIGNED_CACHE, stream_content
from picsha_mcp.rest.deps import get_principal
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1/assets", tags=["render"])
T = TypeVar("T")

WHOLE_BODY_MAX = 4 * 1024 * 1024  # smaller answers are sent in one piece; larger ones (and ranges) stream

_QUERY_DOCS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "required": False, "description": valid, "schema": {"type": "string"}}
    for name, valid in VALID.items()
] + [
    {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
    for name, text in (("kid", "Signing key id (signed URLs)"), ("exp", "Expiry, Unix seconds"), ("sig", "Signature"))
]


def _query(request: Request) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in seen:
            raise InvalidInput(f"The parameter {name!r} is given more than once.", code="render_param_repeated", param=name)
        seen[name] = value
    return seen


@router.get("/{asset_id}/render", openapi_extra={"parameters": _QUERY_DOCS}, response_class=Response)
@needs(Scope.RENDER)
async def render_asset(asset_id: str, request: Request) -> Response:
    """Resize, crop, convert, watermark or rasterise a PDF page; the first render is stored and reused."""
    engine: Engine = request.app.state.engine  # not EngineDep: a sync dependency costs a thread hop per hit
    query = _query(request)
    signed = engine.signer.is_signed(query)
    if signed:
        engine.signer.verify(request.url.path, query)
        principal = None
    else:
        principal = await get_principal(request, engine)
    params = RenderParams.from_query(query)
    accept = request.headers.get("accept")
    result = engine.render.remembered(asset_id, params, principal=principal, accept=accept)
    if result is None:
        rendering = engine.render.render(asset_id, params, principal=principal, accept=accept, wait_for_store=False)
        # While renders are running, a new one may wait for a slot: if its client goes away meanwhile, it is
        # not rendered for nobody (an identical request waiting on it renders in its place).
        result = await (_unless_gone(request, rendering) if engine.render.pool.admitted else rendering)
        if result is None:
            return Response(status_code=CLIENT_GONE)
    if not result.cached and principal is not None:
        await engine.plans.charge(principal, Work.RENDER_COLD)  # a render ran: the rest of its weight
    response = await _send(request, engine, result, SIGNED_CACHE if signed else PRIVATE_CACHE)
    if result.negotiated:
        response.headers["Vary"] = "Accept"
    if params.download:
        response.headers["Content-Disposition"] = attachment(result.download_name)
    return response


CLIENT_GONE = 499  # the answer to a request whose client left before it was done (nobody receives it)


async def _unless_gone(request: Request, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None once the client disconnected (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":  # a GET's (empty) body comes first
            pass
        task.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled() and task.cancelled():
            return None  # cancelled for the client's sake, not the server's
        raise
    finally:
        watcher.cancel()


async def _send(request: Request, engine: Engine, result: RenderResult, cache_control: str) -> Response:
    """Answer 304, or the whole body with the usage row written after the response, or a ranged stream."""
    if request.headers.get("range") or result.content.size > WHOLE_BODY_MAX:
        await engine.render.stored(result)  # a brand-new derivative may still be on its way to the store
        return stream_content(request, engine, result.content, cache_control=cache_control)
    headers = {"ETag": result.etag, "Accept-Ranges": "bytes", "Cache-Control": cache_control}
    headers |= content_headers(result.content.content_type, result.download_name)
    if request.headers.get("if-none-match") in (result.etag, "*"):
        return Response(status_code=304, headers=headers)
    body = await engine.render.read(result)
    return Response(
        body, media_type=result.content.content_type, headers=headers,
        background=BackgroundTask(engine.render.delivered, result),
    )
