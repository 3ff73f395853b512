"""MCP over streamable HTTP at ``/mcp``, inside the REST app: the same keys, DNS-rebinding protection on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from engine import Engine, Settings
from engine.errors import PicshaError
from engine.plans import RateLimited, RateState
from picsha_mcp.rest.body_cap import capped_receive
from picsha_mcp.rest.deps import bearer_token
from picsha_mcp.rest.errors import error_response
from tools_manifest.calls import Transport

if TYPE_CHECKING:
    from picsha_mcp.server import PicshaServer

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Accept Host/Origin of the loopback names and of the public URL; anything else is a rebinding attempt."""
    public = urlsplit(settings.public_url)
    hosts = sorted({*LOCAL_HOSTS, *([public.hostname] if public.hostname else [])})
    allowed_hosts = [*hosts, *(f"{host}:*" for host in hosts)]
    allowed_origins = [
        f"{scheme}://{host}{port}" for host in hosts for scheme in ("http", "https") for port in ("", ":*")
    ]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
    )


class KeyedMCP:
    """ASGI app in front of the session manager: a valid key or session (Bearer or X-API-Key) or 401, within
    its rate limits or 429 (each HTTP request counts as one), then the MCP request; each tool call is checked
    against the tool's scope.

    The principal rides on the request state; the server's tools read it from the request they serve. A
    POST body (a JSON-RPC message, perhaps a tool call with a file in base64) is read under the JSON cap.
    """

    def __init__(self, server: PicshaServer, engine: Callable[[], Engine]):
        self.server = server
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        engine = self.engine()
        try:
            principal = await engine.accounts.gate.principal(bearer_token(Headers(scope=scope)))
            rate = await engine.plans.admit(principal)  # each HTTP request; a costly tool call adds its weight
            if scope["method"] == "POST":
                receive = await capped_receive(Request(scope).headers, receive, engine.settings.ingest.max_json_bytes)
        except PicshaError as error:
            response = error_response(error.status, error.code, error.message, **error.details)
            if error.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="picsha"'
            if isinstance(error, RateLimited):
                response.headers.update(error.state.headers())
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        send = send if rate is None else _with_headers(send, rate)
        await self.server.session_manager.handle_request(scope, receive, send)


def _with_headers(send: Send, rate: RateState) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []),
                                  *((name.lower().encode(), value.encode()) for name, value in rate.headers().items())]
        await send(message)

    return sending


def mcp_http(settings: Settings, engine: Callable[[], Engine]) -> tuple[PicshaServer, Route]:
    """The server (run ``server.session_manager.run()`` in the app lifespan) and its ``/mcp`` route.

    A route, not a mount: a mount answers ``/mcp`` with a redirect to ``/mcp/``, which MCP clients don't follow.
    """
    from picsha_mcp.server import build_server  # here: the server module imports picsha_mcp.rest.errors

    server = build_server(engine, transport=Transport.HTTP, image_tools=settings.mcp.toolsets)
    # Builds the session manager; its own Starlette app is not used (the route below replaces it).
    server.streamable_http_app(transport_security=transport_security(settings))
    return server, Route("/mcp", endpoint=KeyedMCP(server, engine), methods=["GET", "POST", "DELETE"])
