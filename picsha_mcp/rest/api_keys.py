"""``/v1/api-keys``: a user's own keys (an admin's: every key of the account); the secret is shown once."""

from __future__ import annotations

from fastapi import APIRouter

from engine.accounts.models import KeyCreate, KeyCreated
from engine.auth.keys import ApiKeyInfo
from picsha_mcp.rest.access import Access, needs
from picsha_mcp.rest.deps import EngineDep, PrincipalDep

router = APIRouter(prefix="/v1/api-keys", tags=["auth"])


@router.post("", status_code=201, response_model=KeyCreated)
@needs(Access.SIGNED_IN)
async def create_key(given: KeyCreate, engine: EngineDep, principal: PrincipalDep) -> KeyCreated:
    """A key for scripts and agents: ``scopes`` within your own, an optional ``credit_limit`` (USD from the
    usage ledger; spent: 402 key_credit_exhausted) and ``expires_days`` (then 401 key_expired)."""
    return await engine.accounts.api_keys.create(principal, given)


@router.get("", response_model=list[ApiKeyInfo])
@needs(Access.SIGNED_IN)
async def list_keys(engine: EngineDep, principal: PrincipalDep) -> list[ApiKeyInfo]:
    return await engine.accounts.api_keys.list(principal)


@router.delete("/{key_id}", response_model=ApiKeyInfo)
@needs(Access.SIGNED_IN)
async def revoke_key(key_id: str, engine: EngineDep, principal: PrincipalDep) -> ApiKeyInfo:
    return await engine.accounts.api_keys.revoke(principal, key_id)
