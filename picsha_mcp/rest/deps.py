"""Request dependencies shared by the REST routes: the engine and the caller, checked against what the route
needs (``picsha_mcp.rest.access``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import Headers

from engine import Engine
from engine.auth import Principal
from engine.auth.scopes import Scope, require
from engine.plans import RateLimited
from engine.usage import attribute_to
from picsha_mcp.rest.access import need_of
from picsha_mcp.rest.rate_limits import remember, work_of


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def engine_dependency(request: Request) -> Engine:
    """``get_engine`` as a dependency: async, as FastAPI runs a plain function on a worker thread (a thread
    round trip per request)."""
    return request.app.state.engine


async def get_principal(request: Request, engine: Annotated[Engine, Depends(engine_dependency)]) -> Principal:
    """The caller (a key or a login session; the owner's admin with auth off), allowed what the route needs,
    within its rate limits.

    A route that declares nothing is for admins (``access.needs`` and its test keep every route declared).
    """
    principal = await engine.accounts.gate.principal(bearer_token(request.headers))
    need = need_of(request.scope.get("endpoint"))
    if need is None:
        require(principal, Scope.ADMIN)
    elif isinstance(need, Scope):
        require(principal, need)
    attribute_to(principal.key_id)  # ledger rows this request writes name its key
    await admit(request, engine, principal)
    return principal


async def admit(request: Request, engine: Engine, principal: Principal) -> None:
    """Count the request against its key's and account's rate limits (429 past them)."""
    try:
        remember(request.scope, await engine.plans.admit(principal, work_of(request)))
    except RateLimited as refused:
        remember(request.scope, refused.state)
        raise


def bearer_token(headers: Headers) -> str | None:
    """``Authorization: Bearer <token>``, else ``X-API-Key: <key>``."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip() or None


async def caller(request: Request) -> tuple[Engine, Principal]:
    """The engine and the calling account, for the hottest routes: called directly, as FastAPI's resolution
    of two nested dependencies costs more than the rest of a cached read (the routes document the same)."""
    engine: Engine = request.app.state.engine
    return engine, await get_principal(request, engine)


EngineDep = Annotated[Engine, Depends(engine_dependency)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
