"""People in an account: users with roles, teams, login sessions, and the API keys they manage."""

from __future__ import annotations

from dataclasses import dataclass

from engine.accounts.api_keys import ApiKeys
from engine.accounts.gate import Gate
from engine.accounts.models import User
from engine.accounts.passwords import Passwords
from engine.accounts.sessions import SESSION_PREFIX, SessionService
from engine.accounts.settings import AccountSettings
from engine.accounts.teams import TeamService
from engine.accounts.users import UserService
from engine.auth.keys import KeyService, Principal
from engine.catalog import Catalog
from engine.errors import NotFound


@dataclass(frozen=True)
class Accounts:
    users: UserService
    teams: TeamService
    sessions: SessionService
    api_keys: ApiKeys
    gate: Gate
    owner_user_id: str
    owner_account_id: str

    async def user_of(self, principal: Principal) -> User:
        """The user behind a caller; a key made on the command line acts as its account's first admin."""
        if principal.user_id is not None:
            return await self.users.get(principal.account_id, principal.user_id)
        if principal.account_id == self.owner_account_id:
            return await self.users.get(principal.account_id, self.owner_user_id)
        raise NotFound("This key was made on the command line and belongs to no user; log in as one.",
                       code="user_not_found")


async def open_accounts(catalog: Catalog, keys: KeyService, settings: AccountSettings, *, owner_account_id: str,
                        key_cache_ttl_s: float, auth_on: bool) -> Accounts:
    """The services, and the owner account's first admin (made on a new catalog, without a password)."""
    passwords = Passwords(settings)
    sessions = SessionService(catalog, passwords, settings, cache_ttl_s=key_cache_ttl_s)
    users = UserService(catalog, passwords, keys, sessions, settings)
    owner_user_id = await users.owner_admin(owner_account_id)
    open_as = None if auth_on else Principal(account_id=owner_account_id, user_id=owner_user_id)
    return Accounts(users=users, teams=TeamService(catalog), sessions=sessions, api_keys=ApiKeys(keys),
                    gate=Gate(keys, sessions, open_as=open_as), owner_user_id=owner_user_id,
                    owner_account_id=owner_account_id)


__all__ = ["AccountSettings", "Accounts", "Gate", "SESSION_PREFIX", "open_accounts"]
