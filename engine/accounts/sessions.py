"""Login sessions: a random token shown once, stored as its SHA-256 hash, expiring. A session found valid is
remembered briefly like a key (``KeyService``), so a request makes no catalog round trip for it; ending
one forgets it here at once and elsewhere within the same few seconds."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.accounts.models import LoginAnswer, SessionAnswer, User
from engine.accounts.passwords import Passwords
from engine.accounts.settings import AccountSettings
from engine.accounts.throttle import LoginThrottle
from engine.auth.keys import KEY_CACHE_MAX, Principal, Role, hash_secret
from engine.auth.scopes import effective_scopes
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import Unauthorized
from engine.ids import IdPrefix, new_id

SESSION_PREFIX = "ses_live_"


def _wrong() -> Unauthorized:
    return Unauthorized("The username or password is not right.", code="invalid_credentials")


class SessionService:
    def __init__(self, catalog: Catalog, passwords: Passwords, settings: AccountSettings, *, cache_ttl_s: float):
        self.catalog = catalog
        self.passwords = passwords
        self.ttl = timedelta(hours=settings.session_ttl_h)
        self.cache_ttl_s = cache_ttl_s
        self.throttle = LoginThrottle(per_user=settings.login_attempts_per_user, per_ip=settings.login_attempts_per_ip,
                                      window_s=settings.login_window_s)
        # token hash -> (until, principal, expires at as epoch seconds)
        self._valid: dict[str, tuple[float, Principal, float]] = {}
        s, u = tables.sessions, tables.users
        self._lookup = (sa.select(s.c.id, s.c.expires_at, u.c.id.label("user_id"), u.c.account_id, u.c.role)
                        .select_from(s.join(u, u.c.id == s.c.user_id))
                        .where(s.c.token_hash == sa.bindparam("token_hash")))

    async def login(self, username: str, password: str, *, ip: str | None) -> LoginAnswer:
        """401 ``invalid_credentials`` for an unknown user and a wrong password alike, after the same work."""
        self.throttle.check(username=username, ip=ip)
        u = tables.users
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(u).where(u.c.username == username))).first()
        if not await self.passwords.verify(password, row.password_hash if row is not None else None):
            self.throttle.failed(username=username, ip=ip)
            raise _wrong()
        assert row is not None
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        stamp = now()
        expires_at = stamp + self.ttl
        async with self.catalog.begin() as conn:
            await conn.execute(tables.sessions.insert().values(
                id=new_id(IdPrefix.SESSION), token_hash=hash_secret(token), user_id=row.id, account_id=row.account_id,
                created_at=stamp, expires_at=expires_at))
            await conn.execute(sa.delete(tables.sessions).where(tables.sessions.c.user_id == row.id,
                                                                tables.sessions.c.expires_at < stamp))
        user = User(id=row.id, username=row.username, role=Role(row.role), account_id=row.account_id, team_id=row.team_id)
        return LoginAnswer(token=token, expires_at=expires_at, user=user)

    async def authenticate(self, token: str) -> Principal:
        token_hash = hash_secret(token)
        moment = time.monotonic()
        remembered = self._valid.get(token_hash)
        if remembered is not None and remembered[0] > moment:
            if remembered[2] <= time.time():
                self._valid.pop(token_hash, None)
                raise _expired()
            return remembered[1]
        row = await self.catalog.lookup(lambda conn: conn.execute(self._lookup, {"token_hash": token_hash}).first())
        if row is None:
            self._valid.pop(token_hash, None)
            raise Unauthorized("The session is not valid (signed out or replaced); log in again.", code="session_invalid")
        expires = utc(row.expires_at).timestamp()
        if expires <= time.time():
            raise _expired()
        role = Role(row.role)
        principal = Principal(account_id=row.account_id, user_id=row.user_id, role=role, session_id=row.id,
                              scopes=effective_scopes(role, None))
        if self.cache_ttl_s > 0:
            if len(self._valid) >= KEY_CACHE_MAX:
                self._valid.pop(next(iter(self._valid)))
            self._valid[token_hash] = (moment + self.cache_ttl_s, principal, expires)
        return principal

    async def describe(self, principal: Principal, user: User) -> SessionAnswer:
        expires_at: datetime | None = None
        if principal.session_id is not None:
            s = tables.sessions
            async with self.catalog.connect() as conn:
                expires_at = utc(await conn.scalar(sa.select(s.c.expires_at).where(s.c.id == principal.session_id)))
        return SessionAnswer(user=user, expires_at=expires_at)

    async def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            return
        async with self.catalog.begin() as conn:
            await conn.execute(sa.delete(tables.sessions).where(tables.sessions.c.id == principal.session_id))
        self._forget(lambda p: p.session_id == principal.session_id)

    async def end_user_sessions(self, conn: AsyncConnection, user_id: str, keep: str | None) -> None:
        """End a user's sessions but ``keep``, in the caller's transaction."""
        s = tables.sessions
        where = [s.c.user_id == user_id] + ([s.c.id != keep] if keep else [])
        await conn.execute(sa.delete(s).where(*where))
        self._forget(lambda p: p.user_id == user_id and p.session_id != keep)

    def forget_user(self, user_id: str) -> None:
        """A user's role changed: their sessions are read again."""
        self._forget(lambda p: p.user_id == user_id)

    def _forget(self, which: Callable[[Principal], bool]) -> None:
        for token_hash, (_until, principal, _expires) in list(self._valid.items()):
            if which(principal):
                self._valid.pop(token_hash, None)


def _expired() -> Unauthorized:
    return Unauthorized("The session has expired; log in again.", code="session_expired")

