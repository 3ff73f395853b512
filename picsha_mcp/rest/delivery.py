"""Byte delivery: streaming with HTTP Range, ETags, and access by key, signature or public flag."""

from __future__ import annotations

import re
from typing import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from engine import Engine
from engine.assets.service import Content
from engine.auth import Principal
from engine.errors import PicshaError, Unauthorized
from picsha_mcp.rest.content_headers import content_headers
from picsha_mcp.rest.deps import get_principal
from picsha_mcp.rest.errors import error_response

_RANGE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")  # ASCII digits, bounded: others are ignored

PRIVATE_CACHE = "private, max-age=0, must-revalidate"
SIGNED_CACHE = "public, max-age=31536000, immutable"  # a signed URL names immutable bytes

Lookup = Callable[[str, Principal | None], Awaitable[Content]]


async def authorize(request: Request, engine: Engine, asset_id: str, lookup: Lookup) -> Content:
    """A valid signature or the owner's key opens any delivery; a public asset's original needs neither."""
    params = dict(request.query_params)
    if engine.signer.is_signed(params):
        engine.signer.verify(request.url.path, params)
        return await lookup(asset_id, None)
    try:
        principal = await get_principal(request, engine)
    except Unauthorized:
        content = await lookup(asset_id, None)
        if content.is_public:
            return content
        raise
    return await lookup(asset_id, principal)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse one ``bytes=`` range; None means the whole body (absent, multi-range or malformed)."""
    match = _RANGE.match(header.strip()) if header else None
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0:
            raise PicshaError("The requested range is empty.", code="range_not_satisfiable", status=416)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise PicshaError(
            f"The requested range is outside the {size} bytes of this file.", code="range_not_satisfiable", status=416
        )
    return start, end


def stream_content(request: Request, engine: Engine, content: Content, *, cache_control: str) -> Response:
    etag = f'"{content.sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": cache_control}
    headers |= content_headers(content.content_type, content.filename)
    if request.headers.get("if-none-match") in (etag, "*"):
        return Response(status_code=304, headers=headers)
    try:
        byte_range = _byte_range(request.headers.get("range"), content.size)
    except PicshaError as error:
        response = error_response(error.status, error.code, error.message)
        response.headers["Content-Range"] = f"bytes */{content.size}"
        return response
    start, end = byte_range or (0, content.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    status = 200
    if byte_range:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{content.size}"
    body = engine.assets.stream(content, start, end)
    return StreamingResponse(body, status_code=status, media_type=content.content_type, headers=headers)
