"""Caps on request bodies that are read whole (JSON): checked from Content-Length before reading, and
counted while the body streams in when there is none. Files go multipart or TUS, which stream to disk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from engine.errors import InvalidInput, TooLarge
from engine.numerals import ASCII_INTEGER, ascii_int
from picsha_mcp.rest.json_text import parse_json

LARGER_FILES = (
    "send larger files as multipart/form-data to POST /v1/assets, or as a resumable TUS upload to "
    "/v1/upload/resumable (then upload_asset with its upload_id)"
)


def json_too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"JSON bodies are limited to {limit} bytes (PICSHA_INGEST__MAX_JSON_BYTES); {LARGER_FILES}.",
        code="json_body_too_large", max_bytes=limit,
    )


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The request's Content-Length, refused unless it is plain ASCII digits."""
    raw = headers.get("content-length")
    if raw is None:
        return None
    length = ascii_int(raw)
    if length is None:
        raise InvalidInput(f"Content-Length must be {ASCII_INTEGER}, got {raw!r}.", code="content_length_invalid")
    return length


def check_declared(headers: Mapping[str, str], limit: int) -> None:
    length = declared_length(headers)
    if length is not None and length > limit:
        raise json_too_large(limit)


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, or ``json_body_too_large`` as soon as it passes ``limit`` (nothing more is read)."""
    body = bytearray()
    async for chunk in chunks:
        if len(body) + len(chunk) > limit:
            raise json_too_large(limit)
        body += chunk
    return bytes(body)


async def _received(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()  # a body cut off is not a whole one
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def capped_receive(headers: Mapping[str, str], receive: Receive, limit: int) -> Receive:
    """For ASGI apps that read the body themselves: read it under the cap now, then hand it over."""
    check_declared(headers, limit)
    body = await read_capped(_received(receive), limit)
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        return message

    return replay


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """A JSON object body read under ``limit`` bytes (an empty body is ``{}``), parsed off the event loop."""
    check_declared(request.headers, limit)
    raw = await read_capped(request.stream(), limit)
    if not raw.strip():
        return {}
    body = await anyio.to_thread.run_sync(lambda: parse_json(raw, what="The body", code="invalid_json"))
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.", code="invalid_json")
    return body
