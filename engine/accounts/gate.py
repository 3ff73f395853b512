"""Who is calling: a login session's token or an API key (both sent as a bearer token, a key also as
``X-API-Key``), or, with auth off, the owner account's admin for everyone."""

from __future__ import annotations

from engine.accounts.sessions import SESSION_PREFIX, SessionService
from engine.auth.keys import KeyService, Principal


class Gate:
    def __init__(self, keys: KeyService, sessions: SessionService, *, open_as: Principal | None = None):
        self.keys = keys
        self.sessions = sessions
        self.open_as = open_as  # auth off: every caller is this principal

    async def principal(self, token: str | None) -> Principal:
        if self.open_as is not None:
            return self.open_as
        if token is not None and token.startswith(SESSION_PREFIX):
            return await self.sessions.authenticate(token)
        return await self.keys.authenticate(token)
