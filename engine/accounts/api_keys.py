"""API keys as people manage them: a user makes, lists and revokes their own keys; an admin sees every key
of the account. A key can do no more than whoever made it: its scopes are within the maker's."""

from __future__ import annotations

from datetime import timedelta

from engine.accounts.models import KeyCreate, KeyCreated
from engine.auth.keys import ApiKeyInfo, KeyService, Principal
from engine.auth.scopes import Scope, require
from engine.catalog.database import now
from engine.errors import Forbidden


class ApiKeys:
    def __init__(self, keys: KeyService):
        self.keys = keys

    async def create(self, principal: Principal, given: KeyCreate) -> KeyCreated:
        _not_limited(principal)
        for scope in given.scopes or ():
            require(principal, Scope(scope))
        scopes = None if given.scopes is None else [Scope(scope).value for scope in given.scopes]
        expires_at = now() + timedelta(days=given.expires_days) if given.expires_days else None
        info, secret = await self.keys.create_key(
            principal.account_id, given.name, user_id=principal.user_id, scopes=scopes,
            credit_limit=given.credit_limit, expires_at=expires_at)
        return KeyCreated(key=secret, id=info.id, name=info.name, prefix=info.prefix, scopes=info.scopes,
                          credit_limit=info.credit_limit, expires_at=info.expires_at)

    async def list(self, principal: Principal) -> list[ApiKeyInfo]:
        return await self.keys.list_keys(principal.account_id, user_id=_owner_filter(principal))

    async def revoke(self, principal: Principal, key_id: str) -> ApiKeyInfo:
        _not_limited(principal)
        return await self.keys.revoke(principal.account_id, key_id, user_id=_owner_filter(principal))


def _owner_filter(principal: Principal) -> str | None:
    """Whose keys the caller manages: an admin every key of the account, a user their own."""
    return None if principal.is_admin else principal.user_id or ""


def _not_limited(principal: Principal) -> None:
    if principal.limited:
        raise Forbidden("A key with scopes, a credit limit or an expiry cannot make or revoke keys; use a login "
                        "session or a key without limits.", code="key_limited")
