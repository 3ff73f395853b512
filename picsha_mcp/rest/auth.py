"""``/v1/auth``: log in and out, the current session, one's password; users and teams (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from engine.accounts.models import (
    LoginAnswer, LoginRequest, PasswordChange, PasswordReset, SessionAnswer, Team, TeamWrite, User, UserCreate,
    UserUpdate,
)
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import Access, needs
from picsha_mcp.rest.deps import EngineDep, PrincipalDep

router = APIRouter(prefix="/v1/auth", tags=["auth"])
UNAUTHORIZED = {401: {"description": "invalid_credentials, session_expired, session_invalid, ..."}}


@router.post("/login", response_model=LoginAnswer, responses=UNAUTHORIZED | {429: {"description": "Too many attempts."}})
@needs(Access.PUBLIC)
async def login(given: LoginRequest, request: Request, engine: EngineDep) -> LoginAnswer:
    """A session token for ``Authorization: Bearer``; a wrong username or password is one answer (401)."""
    ip = request.client.host if request.client else None
    return await engine.accounts.sessions.login(given.username, given.password, ip=ip)


@router.post("/logout", status_code=204)
@needs(Access.SIGNED_IN)
async def logout(engine: EngineDep, principal: PrincipalDep) -> Response:
    await engine.accounts.sessions.logout(principal)
    return Response(status_code=204)


@router.get("/session", response_model=SessionAnswer, responses=UNAUTHORIZED)
@needs(Access.SIGNED_IN)
async def session(engine: EngineDep, principal: PrincipalDep) -> SessionAnswer:
    """Who is signed in, and until when (``expires_at`` null for a key or with auth off)."""
    return await engine.accounts.sessions.describe(principal, await engine.accounts.user_of(principal))


@router.post("/change-password", status_code=204)
@needs(Access.SIGNED_IN)
async def change_password(given: PasswordChange, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Ends every other session of yours and revokes your API keys."""
    await engine.accounts.users.change_password(principal, given.current_password, given.new_password)
    return Response(status_code=204)


@router.get("/users", response_model=list[User])
@needs(Scope.ADMIN)
async def list_users(engine: EngineDep, principal: PrincipalDep) -> list[User]:
    return await engine.accounts.users.list(principal.account_id)


@router.post("/register", status_code=201, response_model=User)
@needs(Scope.ADMIN)
async def register(given: UserCreate, engine: EngineDep, principal: PrincipalDep) -> User:
    return await engine.accounts.users.create(principal.account_id, given)


@router.put("/users/{user_id}", response_model=User)
@needs(Scope.ADMIN)
async def update_user(user_id: str, given: UserUpdate, engine: EngineDep, principal: PrincipalDep) -> User:
    """Change a user's role or team; the last admin cannot be demoted (409 last_admin)."""
    return await engine.accounts.users.update(principal.account_id, user_id, given)


@router.post("/users/{user_id}/reset-password", status_code=204)
@needs(Scope.ADMIN)
async def reset_password(user_id: str, given: PasswordReset, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Set a user's password; their sessions end."""
    await engine.accounts.users.set_password(principal.account_id, user_id, given.new_password)
    return Response(status_code=204)


@router.delete("/users/{user_id}", response_model=User)
@needs(Scope.ADMIN)
async def delete_user(user_id: str, engine: EngineDep, principal: PrincipalDep) -> User:
    """Remove a user with their sessions and keys; the last admin cannot be removed (409 last_admin)."""
    return await engine.accounts.users.delete(principal.account_id, user_id)


@router.get("/teams", response_model=list[Team])
@needs(Scope.ADMIN)
async def list_teams(engine: EngineDep, principal: PrincipalDep) -> list[Team]:
    return await engine.accounts.teams.list(principal.account_id)


@router.post("/teams", status_code=201, response_model=Team)
@needs(Scope.ADMIN)
async def create_team(given: TeamWrite, engine: EngineDep, principal: PrincipalDep) -> Team:
    return await engine.accounts.teams.create(principal.account_id, given.name)


@router.get("/teams/{team_id}", response_model=Team)
@needs(Scope.ADMIN)
async def get_team(team_id: str, engine: EngineDep, principal: PrincipalDep) -> Team:
    return await engine.accounts.teams.get(principal.account_id, team_id)


@router.put("/teams/{team_id}", response_model=Team)
@needs(Scope.ADMIN)
async def rename_team(team_id: str, given: TeamWrite, engine: EngineDep, principal: PrincipalDep) -> Team:
    return await engine.accounts.teams.rename(principal.account_id, team_id, given.name)


@router.delete("/teams/{team_id}", response_model=Team)
@needs(Scope.ADMIN)
async def delete_team(team_id: str, engine: EngineDep, principal: PrincipalDep) -> Team:
    """Remove a team; its users stay, without a team."""
    return await engine.accounts.teams.delete(principal.account_id, team_id)
