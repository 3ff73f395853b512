"""Users of an account: made, listed, changed and removed by the account's admins; an account always keeps
at least one admin. Passwords are argon2 hashes; a password change ends the user's other sessions and keys."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.accounts.models import User, UserCreate, UserUpdate
from engine.accounts.passwords import NO_PASSWORD, Passwords
from engine.accounts.sessions import SessionService
from engine.accounts.settings import AccountSettings
from engine.auth.keys import KeyService, Principal, Role
from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.ids import IdPrefix, new_id

OWNER_ADMIN_ID = "usr_owner"  # fixed, so processes starting together on a new catalog make one
OWNER_ADMIN_NAME = "admin"


def _user(row: sa.Row) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role), account_id=row.account_id, team_id=row.team_id)


def _not_found(user_id: str) -> NotFound:
    return NotFound(f"No user {user_id!r} in this account (GET /v1/auth/users lists them).", code="user_not_found")


class UserService:
    def __init__(self, catalog: Catalog, passwords: Passwords, keys: KeyService, sessions: SessionService,
                 settings: AccountSettings):
        self.catalog = catalog
        self.passwords = passwords
        self.keys = keys
        self.sessions = sessions
        self.settings = settings

    def check_password(self, password: str) -> None:
        if len(password) < self.settings.password_min_length:
            raise InvalidInput(f"A password needs at least {self.settings.password_min_length} characters.",
                               code="password_too_short", min_length=self.settings.password_min_length)

    async def owner_admin(self, account_id: str) -> str:
        """The owner account's first admin, made without a password on a new catalog (``picsha serve`` gives it
        one on first start and prints it); so auth off, and the CLI's keys, act as a real user."""
        u = tables.users
        first = (sa.select(u.c.id).where(u.c.account_id == account_id, u.c.role == Role.ADMIN.value)
                 .order_by(u.c.created_at, u.c.id).limit(1))
        async with self.catalog.connect() as conn:
            found = await conn.scalar(first)
        if found:
            return found
        stamp = now()
        async with self.catalog.begin() as conn:
            await conn.execute(upsert.insert(conn, u).values(
                id=OWNER_ADMIN_ID, account_id=account_id, username=OWNER_ADMIN_NAME, password_hash=NO_PASSWORD,
                role=Role.ADMIN.value, team_id=None, created_at=stamp, updated_at=stamp).on_conflict_do_nothing())
            return await conn.scalar(first)

    async def admin_can_log_in(self, account_id: str) -> bool:
        """Whether some admin of the account has a password (a new install's admin has none yet)."""
        u = tables.users
        async with self.catalog.connect() as conn:
            return bool(await conn.scalar(sa.select(sa.func.count()).select_from(u).where(
                u.c.account_id == account_id, u.c.role == Role.ADMIN.value, u.c.password_hash != NO_PASSWORD)))

    async def find(self, username: str) -> tuple[User, bool] | None:
        """A user by username (any account), and whether they have a password yet."""
        u = tables.users
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(u).where(u.c.username == username))).first()
        return None if row is None else (_user(row), row.password_hash != NO_PASSWORD)

    async def create(self, account_id: str, given: UserCreate) -> User:
        self.check_password(given.password)
        password_hash = await self.passwords.hash(given.password)
        u, stamp = tables.users, now()
        row = dict(id=new_id(IdPrefix.USER), account_id=account_id, username=given.username,
                   password_hash=password_hash, role=given.role.value, team_id=given.team_id,
                   created_at=stamp, updated_at=stamp)
        async with self.catalog.begin() as conn:
            if given.team_id is not None:
                await _check_team(conn, account_id, given.team_id)
            inserted = await conn.execute(upsert.insert(conn, u).values(**row).on_conflict_do_nothing())
            if inserted.rowcount == 0:
                raise Conflict(f"The username {given.username!r} is taken.", code="username_taken")
        return User(**{k: v for k, v in row.items() if k in User.model_fields})

    async def list(self, account_id: str) -> list[User]:
        u = tables.users
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(sa.select(u).where(u.c.account_id == account_id)
                                       .order_by(u.c.created_at, u.c.id))).all()
        return [_user(row) for row in rows]

    async def get(self, account_id: str, user_id: str) -> User:
        u = tables.users
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(u).where(u.c.id == user_id, u.c.account_id == account_id))).first()
        if row is None:
            raise _not_found(user_id)
        return _user(row)

    async def update(self, account_id: str, user_id: str, given: UserUpdate) -> User:
        u = tables.users
        values: dict[str, object] = {"updated_at": now()}
        if given.role is not None:
            values["role"] = given.role.value
        if "team_id" in given.model_fields_set:
            values["team_id"] = given.team_id
        async with self.catalog.begin() as conn:
            await _lock_account(conn, account_id)
            if given.team_id is not None:
                await _check_team(conn, account_id, given.team_id)
            changed = await conn.execute(u.update().where(u.c.id == user_id, u.c.account_id == account_id).values(**values))
            if changed.rowcount == 0:
                raise _not_found(user_id)
            await _keep_an_admin(conn, account_id)
            row = (await conn.execute(sa.select(u).where(u.c.id == user_id))).one()
        if given.role is not None:
            self.keys.forget()  # the user's keys and sessions are read again with their new role
            self.sessions.forget_user(user_id)
        return _user(row)

    async def delete(self, account_id: str, user_id: str) -> User:
        """Remove a user, their sessions and keys (their assets stay with the account)."""
        found = await self.get(account_id, user_id)
        u = tables.users
        async with self.catalog.begin() as conn:
            await _lock_account(conn, account_id)
            await self.sessions.end_user_sessions(conn, user_id, None)
            await self.keys.revoke_user_keys(user_id, conn)
            deleted = await conn.execute(sa.delete(u).where(u.c.id == user_id, u.c.account_id == account_id))
            if deleted.rowcount == 0:
                raise _not_found(user_id)
            await _keep_an_admin(conn, account_id)
        return found

    async def set_password(self, account_id: str, user_id: str, password: str, *, keep_session: str | None = None,
                           revoke_keys: bool = False) -> None:
        """A new password; every session of the user but ``keep_session`` ends (and, asked, every key)."""
        self.check_password(password)
        password_hash = await self.passwords.hash(password)
        u = tables.users
        async with self.catalog.begin() as conn:
            changed = await conn.execute(u.update().where(u.c.id == user_id, u.c.account_id == account_id)
                                         .values(password_hash=password_hash, updated_at=now()))
            if changed.rowcount == 0:
                raise _not_found(user_id)
            await self.sessions.end_user_sessions(conn, user_id, keep_session)
            if revoke_keys:
                await self.keys.revoke_user_keys(user_id, conn)

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        """The caller's own password: the current one is checked; other sessions and all keys end."""
        if principal.user_id is None:
            raise Forbidden("Only a signed-in user has a password to change.", code="user_required")
        u = tables.users
        async with self.catalog.connect() as conn:
            stored = await conn.scalar(sa.select(u.c.password_hash).where(
                u.c.id == principal.user_id, u.c.account_id == principal.account_id))
        if not await self.passwords.verify(current, stored):
            raise Forbidden("The current password is not right.", code="password_incorrect")
        await self.set_password(principal.account_id, principal.user_id, new, keep_session=principal.session_id,
                                revoke_keys=True)


async def _lock_account(conn: AsyncConnection, account_id: str) -> None:
    """Serialise changes to one account's admins (PostgreSQL; SQLite writes one transaction at a time)."""
    a = tables.accounts
    await conn.execute(sa.select(a.c.id).where(a.c.id == account_id).with_for_update())


async def _keep_an_admin(conn: AsyncConnection, account_id: str) -> None:
    u = tables.users
    admins = await conn.scalar(sa.select(sa.func.count()).select_from(u).where(
        u.c.account_id == account_id, u.c.role == Role.ADMIN.value))
    if not admins:
        raise Conflict("An account keeps at least one admin: make another user admin first.", code="last_admin")


async def _check_team(conn: AsyncConnection, account_id: str, team_id: str) -> None:
    t = tables.teams
    if await conn.scalar(sa.select(t.c.id).where(t.c.id == team_id, t.c.account_id == account_id)) is None:
        raise NotFound(f"No team {team_id!r} in this account (GET /v1/auth/teams lists them).", code="team_not_found")
