"""Request dependencies shared by the REST routes: the engine and the calling account."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from engine import Engine
from engine.auth import Principal
from engine.plans import RateLimited
from engine.settings import AuthMode
from picsha_mcp.rest.rate_limits import remember, work_of


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def engine_dependency(request: Request) -> Engine:
    """``get_engine`` as a dependency: async, as FastAPI runs a plain function on a worker thread (a thread
    round trip per request)."""
    return request.app.state.engine


async def get_principal(request: Request, engine: Annotated[Engine, Depends(engine_dependency)]) -> Principal:
    if engine.settings.auth is AuthMode.OFF:
        principal = Principal(account_id=engine.owner_account_id)
    else:
        principal = await engine.keys.authenticate(bearer_token(request))
    await admit(request, engine, principal)
    return principal


async def admit(request: Request, engine: Engine, principal: Principal) -> None:
    """Count the request against its key's and account's rate limits (429 past them)."""
    try:
        remember(request.scope, await engine.plans.admit(principal, work_of(request)))
    except RateLimited as refused:
        remember(request.scope, refused.state)
        raise


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def caller(request: Request) -> tuple[Engine, Principal]:
    """The engine and the calling account, for the hottest routes: called directly, as FastAPI's resolution
    of two nested dependencies costs more than the rest of a cached read (the routes document the same)."""
    engine: Engine = request.app.state.engine
    return engine, await get_principal(request, engine)


EngineDep = Annotated[Engine, Depends(engine_dependency)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
