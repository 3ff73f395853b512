"""Headers that keep stored bytes from running as a page on Picsha's origin.

Every byte answer (originals and renders) carries ``X-Content-Type-Options: nosniff`` and a sandboxing
CSP, so a browser neither guesses a type nor gives a document scripts or same-origin access. Only raster
images are shown inline; everything a browser could execute or render as a document (SVG, HTML stored as
text, XML, PDF, office files) is an attachment. The rule is an allow-list of inline types, so a format
added later is an attachment until someone decides otherwise.

Stored SVG is not rewritten to strip scripts, event handlers or foreignObject: an original is kept byte for
byte (its SHA-256 is its identity and the ETag), a sanitiser is a parser race an attacker gets to pick the
ground for, and these headers make the question moot on this origin. The rasteriser reads SVG from memory,
so nothing it refers to is ever fetched (``engine.render.svg``).
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SANDBOX_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

INLINE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/avif", "image/gif", "image/tiff", "image/heic"}
)

_UNSAFE_ASCII = re.compile(r'[^A-Za-z0-9._ -]+')


def shown_inline(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in INLINE_TYPES


def attachment(filename: str) -> str:
    """``attachment`` with a safe ASCII name, plus the exact name in RFC 5987 form when they differ."""
    fallback = _UNSAFE_ASCII.sub("_", filename).strip(" .") or "download"
    if fallback == filename:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def content_headers(content_type: str, filename: str) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": SANDBOX_CSP}
    if not shown_inline(content_type):
        headers["Content-Disposition"] = attachment(filename)
    return headers


class AnswerHeaders:
    """ASGI middleware base: ``add`` writes headers into every HTTP answer of the app (JSON, errors, streams)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    def add(self, scope: Scope, headers: MutableHeaders) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.add(scope, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_header)


class ServerTiming(AnswerHeaders):
    """``Server-Timing: app;dur=<ms>`` on every HTTP answer, the time from the request reaching the app to
    the answer's first bytes (a streamed body's rest is not counted)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[REQUEST_STARTED] = time.perf_counter()
        await super().__call__(scope, receive, send)

    def add(self, scope: Scope, headers: MutableHeaders) -> None:
        headers.append("Server-Timing", f"app;dur={(time.perf_counter() - scope[REQUEST_STARTED]) * 1000:.2f}")


REQUEST_STARTED = "picsha.started"  # the scope's key for when the request reached the app


class NoSniff(AnswerHeaders):
    """Every HTTP answer of the app (JSON, errors, streams, docs) carries ``nosniff``."""

    def add(self, scope: Scope, headers: MutableHeaders) -> None:
        headers.setdefault("X-Content-Type-Options", "nosniff")
