"""Links that open while only ``picsha mcp`` runs.

The signed URLs in results name ``PICSHA_PUBLIC_URL``; over stdio nothing may listen there. So at start one
probe asks that URL whether a ``picsha serve`` sharing this data's signing keys answers: then links point at
it (and keep working after the session). Otherwise links point at a listener of this process on a free
loopback port, opened when the first link is made and closed when the session ends. It serves exactly the
routes signed links name (``engine.assets.links.SIGNED_ROUTES``), through the REST app's own route objects,
and only to signed requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qsl

import httpx2
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from engine import Engine
from engine.assets.links import SIGNED_ROUTES
from engine.auth.signing import UrlSigner
from picsha_mcp.rest import assets as asset_routes
from picsha_mcp.rest import documents as document_routes
from picsha_mcp.rest import render as render_routes
from picsha_mcp.rest.content_headers import NoSniff
from picsha_mcp.rest.errors import error_response, install_error_handlers

log = logging.getLogger("picsha.mcp.links")

LOOPBACK = "127.0.0.1"
PROBE_ASSET_ID = "as_linkprobe"  # never an asset: ids are random
GRACE_S = 5  # a download still running when the session ends gets this long to finish


# -- is a picsha serve already there? -----------------------------------------------------------------


async def serving_picsha(engine: Engine, timeout_s: float) -> bool:
    """True when the public URL answers like a Picsha holding this data's signing keys.

    A signed content link of an asset that does not exist is ``404 asset_not_found`` there; a Picsha with
    other keys (another data folder) answers ``403 signature_invalid``, and its links would not open ours.
    """
    url = engine.links.content(PROBE_ASSET_ID)
    try:
        async with httpx2.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            answer = await client.get(url)
        code = answer.json().get("error", {}).get("code") if answer.status_code in (403, 404) else None
    except (httpx2.HTTPError, ValueError, AttributeError):  # nothing there, or not JSON: not a Picsha
        return False
    if code == "signature_invalid":
        log.warning("the Picsha at %s does not share this data folder's signing keys; links will point at "
                    "this session's own listener", engine.links.base)
    return answer.status_code == 404 and code == "asset_not_found"


# -- the listener ----------------------------------------------------------------------------------------


class SignedOnly:
    """ASGI middleware: only signed requests pass. The listener exists for the links this session hands out;
    with ``PICSHA_AUTH=off`` an unsigned request would otherwise read any asset from any local program."""

    def __init__(self, app: ASGIApp, signer: UrlSigner):
        self.app = app
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if scope["type"] != "http" or self.signer.is_signed(query):
            await self.app(scope, receive, send)
            return
        response = error_response(
            403, "signature_required",
            "This port serves the signed links of one picsha mcp session only; open a URL from a Picsha result "
            "as given (with its kid and sig), or run picsha serve for key access.",
        )
        await response(scope, receive, send)


def links_app(engine: Engine) -> FastAPI:
    """An app of the REST routes signed links name, their handlers and error shapes unchanged."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.engine = engine  # what the REST handlers read
    install_error_handlers(app)
    app.add_middleware(SignedOnly, signer=engine.signer)
    app.add_middleware(NoSniff)  # added last: outermost, so refusals carry it too
    routes = {
        route.path: route
        for router in (asset_routes.router, render_routes.router, document_routes.router)
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    missing = [path for path in SIGNED_ROUTES if path not in routes]
    if missing:  # a renamed REST route must not leave links dead silently
        raise RuntimeError(f"signed links name routes the REST app lacks: {', '.join(missing)}")
    app.router.routes.extend(routes[path] for path in SIGNED_ROUTES)
    return app


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # SIGINT and SIGTERM belong to picsha mcp; uvicorn would take them over and raise them again


class LinkListener:
    """Started from ``AssetLinks`` when the first link is made; made and closed on the event loop."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None
        self.pending: socket.socket | None = None  # bound, not yet handed to uvicorn

    def start(self) -> str:
        """Bind a free loopback port now and return its base URL; uvicorn takes the socket on the loop.

        Binding synchronously lets the first link name its port at once (links are made in plain calls);
        a connection arriving before uvicorn accepts waits in the socket's backlog.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((LOOPBACK, 0))
        sock.listen(128)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            links_app(self.engine), lifespan="off", access_log=False, server_header=False,
            log_config=None, log_level="warning",  # stdout carries MCP: uvicorn's default config logs to it
            timeout_graceful_shutdown=GRACE_S,
        )
        self.server, self.pending = _InProcessServer(config), sock
        self.loop.call_soon_threadsafe(self._launch)
        log.info("links of this session are served on http://%s:%d", LOOPBACK, port)
        return f"http://{LOOPBACK}:{port}"

    def _launch(self) -> None:
        sock, self.pending = self.pending, None
        if sock is None or self.server is None:  # closed before the loop got here
            return
        self.task = self.loop.create_task(self.server.serve(sockets=[sock]), name="picsha-links")
        self.task.add_done_callback(_report)

    async def close(self) -> None:
        if self.pending is not None:  # never launched: nobody else will close its socket
            self.pending.close()
            self.pending = None
        if self.server is not None:
            self.server.should_exit = True
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the link listener stopped", exc_info=task.exception())


@contextlib.asynccontextmanager
async def links_for_stdio(engine: Engine) -> AsyncIterator[None]:
    """For one ``picsha mcp`` session: links point at a running ``picsha serve``, else at our own listener."""
    if await serving_picsha(engine, engine.settings.mcp.probe_timeout_s):
        log.info("links point at the Picsha serving %s", engine.links.base)
        yield
        return
    listener = LinkListener(engine)
    engine.links.serve_from(listener.start)
    try:
        yield
    finally:
        await listener.close()
