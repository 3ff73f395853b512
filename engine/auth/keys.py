"""Accounts and API keys. A key's secret is shown once; only its SHA-256 hash is stored."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.scopes import effective_scopes
from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now, utc
from engine.errors import NotFound, PicshaError, Unauthorized
from engine.ids import IdPrefix, new_id

log = logging.getLogger("picsha.auth")

KEY_PREFIX = "sk_live_"
OWNER_ACCOUNT_ID = "acct_owner"
KEY_CACHE_TTL_S = 5.0  # how long a key found valid is trusted without asking the catalog again
KEY_CACHE_MAX = 10_000  # keys remembered at once (the oldest go first)
TOUCH_INTERVAL_S = 60.0  # last_used_at is written at most this often per key


class Role(StrEnum):
    """What a user may do inside an account: a user owns their files, pipelines and keys; an admin sees all
    of the account and manages its users, teams and settings."""

    ADMIN = "admin"
    USER = "user"


class Principal(BaseModel):
    """Who is calling: every catalog query is scoped by ``account_id``. ``scopes`` None means every scope
    (the owner's CLI keys, auth off, internal work); a key made with scopes carries exactly those."""

    account_id: str
    key_id: str | None = None
    user_id: str | None = None
    role: Role = Role.ADMIN
    scopes: frozenset[str] | None = None
    session_id: str | None = None  # a login session's id (None for keys, auth off and internal work)
    limited: bool = False  # a key made with scopes, a credit limit or an expiry (it cannot manage keys)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class AccountInfo(BaseModel):
    id: str
    name: str
    is_owner: bool
    created_at: datetime


class KeySpend(BaseModel):
    spend: str = Field(description="What the key has spent, from the usage ledger, in USD (to the micro-dollar).")
    operations: int = Field(description="Ledger rows the key wrote.")


class ApiKeyInfo(BaseModel):
    id: str
    name: str
    prefix: str
    account_id: str
    user_id: str | None = None
    scopes: list[str] | None = Field(default=None, description="None: every scope its owner's role allows.")
    credit_limit: float | None = Field(default=None, description="USD the key may spend; none: no limit.")
    expires_at: datetime | None = None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    usage: KeySpend | None = None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def micros_of(usd: float | None) -> int | None:
    return None if usd is None else round(usd * 1_000_000)


class KeyService:
    """Keys and accounts. A key found valid is remembered for ``cache_ttl_s`` (0: never), so most requests
    make no catalog round trip for it; revoking forgets it in this process at once, while other processes
    serving the same catalog may still accept it for up to ``cache_ttl_s``. Keys not found are not
    remembered. A key's spend (for its credit limit) is read with it, so a limit is seen within the same
    ``cache_ttl_s``; its expiry is checked on every use. ``last_used_at`` is written at most once a
    ``touch_interval_s`` per key, after the request, never on its path."""

    def __init__(self, catalog: Catalog, *, cache_ttl_s: float = KEY_CACHE_TTL_S,
                 touch_interval_s: float = TOUCH_INTERVAL_S):
        self.catalog = catalog
        self.cache_ttl_s = cache_ttl_s
        self.touch_interval_s = touch_interval_s
        # key hash -> (until, principal, expires at as epoch seconds or inf)
        self._valid: dict[str, tuple[float, Principal, float]] = {}
        self._touched: dict[str, float] = {}  # key id -> when its last_used_at was last written (monotonic)
        self._touching: set[asyncio.Task[None]] = set()
        k, u, users = tables.api_keys, tables.usage_events, tables.users
        spent = sa.select(sa.func.coalesce(sa.func.sum(u.c.amount_micros), 0)).where(u.c.key_id == k.c.id)
        self._lookup = (
            sa.select(k.c.id, k.c.account_id, k.c.user_id, k.c.scopes, k.c.credit_limit_micros, k.c.expires_at,
                      users.c.role,
                      sa.case((k.c.credit_limit_micros.is_(None), 0), else_=spent.scalar_subquery()).label("spent"))
            .select_from(k.outerjoin(users, users.c.id == k.c.user_id))
            .where(k.c.key_hash == sa.bindparam("key_hash"), k.c.revoked_at.is_(None))
        )

    async def create_account(self, name: str, *, is_owner: bool = False) -> str:
        account_id = new_id(IdPrefix.ACCOUNT)
        async with self.catalog.begin() as conn:
            await conn.execute(
                tables.accounts.insert().values(id=account_id, name=name, is_owner=is_owner, created_at=now())
            )
        return account_id

    async def list_accounts(self) -> list[AccountInfo]:
        a = tables.accounts
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(sa.select(a).order_by(a.c.created_at, a.c.id))).all()
        return [AccountInfo(id=row.id, name=row.name, is_owner=row.is_owner, created_at=utc(row.created_at))
                for row in rows]

    async def owner_account(self) -> str:
        """The account of the person who runs this server, created on first start.

        Under one fixed id, so processes starting together on a new catalog agree on one owner (the first
        insert wins, the others find it); an older catalog's owner keeps the id it has.
        """
        a = tables.accounts
        first_owner = sa.select(a.c.id).where(a.c.is_owner.is_(True)).order_by(a.c.created_at, a.c.id).limit(1)
        async with self.catalog.connect() as conn:
            found = await conn.scalar(first_owner)
        if found:
            return found
        async with self.catalog.begin() as conn:
            await conn.execute(upsert.insert(conn, a).values(
                id=OWNER_ACCOUNT_ID, name="owner", is_owner=True, created_at=now()).on_conflict_do_nothing())
            return await conn.scalar(first_owner)

    async def create_key(
        self, account_id: str, name: str, *, user_id: str | None = None, scopes: Iterable[str] | None = None,
        credit_limit: float | None = None, expires_at: datetime | None = None,
    ) -> tuple[ApiKeyInfo, str]:
        secret = KEY_PREFIX + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
        row = {
            "id": new_id(IdPrefix.KEY),
            "account_id": account_id,
            "name": name,
            "prefix": secret[: len(KEY_PREFIX) + 4],
            "key_hash": hash_secret(secret),
            "created_at": now(),
            "user_id": user_id,
            "scopes": None if scopes is None else sorted(set(scopes)),
            "credit_limit_micros": micros_of(credit_limit),
            "expires_at": expires_at,
        }
        async with self.catalog.begin() as conn:
            await conn.execute(tables.api_keys.insert().values(**row))
        return self._info(row), secret

    async def list_keys(self, account_id: str, *, user_id: str | None = None) -> list[ApiKeyInfo]:
        """The account's keys (``user_id``: only that user's), revoked ones too, each with its usage."""
        k, u = tables.api_keys, tables.usage_events
        query = sa.select(k).where(k.c.account_id == account_id).order_by(k.c.created_at, k.c.id)
        if user_id is not None:
            query = query.where(k.c.user_id == user_id)
        usage = (sa.select(u.c.key_id, sa.func.sum(u.c.amount_micros), sa.func.count())
                 .where(u.c.account_id == account_id, u.c.key_id.is_not(None)).group_by(u.c.key_id))
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(query)).all()
            spent = {row[0]: (int(row[1] or 0), int(row[2])) for row in (await conn.execute(usage)).all()}
        return [self._info(row._mapping, spent.get(row.id, (0, 0))) for row in rows]

    async def count_active_keys(self) -> int:
        k = tables.api_keys
        async with self.catalog.connect() as conn:
            return await conn.scalar(sa.select(sa.func.count()).select_from(k).where(k.c.revoked_at.is_(None))) or 0

    async def revoke(self, account_id: str, key_id: str, *, user_id: str | None = None) -> ApiKeyInfo:
        """Revoke one key of the account (``user_id``: only if it is that user's; another's is not found)."""
        k = tables.api_keys
        where = [k.c.id == key_id, k.c.account_id == account_id, k.c.revoked_at.is_(None)]
        if user_id is not None:
            where.append(k.c.user_id == user_id)
        async with self.catalog.begin() as conn:
            result = await conn.execute(k.update().where(*where).values(revoked_at=now()))
            if result.rowcount == 0:
                raise NotFound(f"No active API key {key_id!r} of yours (GET /v1/api-keys lists them).",
                               code="key_not_found")
            row = (await conn.execute(sa.select(k).where(k.c.id == key_id))).one()
        self._valid.pop(row.key_hash, None)
        return self._info(row._mapping)

    async def revoke_user_keys(self, user_id: str, conn: AsyncConnection) -> None:
        """Every key of a user, in the caller's transaction (a password change, the user's removal)."""
        k = tables.api_keys
        hashes = (await conn.execute(sa.select(k.c.key_hash).where(k.c.user_id == user_id, k.c.revoked_at.is_(None)))).scalars()
        for key_hash in list(hashes):
            self._valid.pop(key_hash, None)
        await conn.execute(k.update().where(k.c.user_id == user_id, k.c.revoked_at.is_(None)).values(revoked_at=now()))

    def forget(self) -> None:
        """Forget every remembered key (a user's role changed: their keys are read again)."""
        self._valid.clear()

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthorized(
                "An API key is required: send 'Authorization: Bearer sk_live_...' or 'X-API-Key'.", code="auth_required"
            )
        key_hash = hash_secret(secret)
        remembered = self._valid.get(key_hash)
        moment = time.monotonic()
        if remembered is not None and remembered[0] > moment:
            if remembered[2] <= time.time():
                self._valid.pop(key_hash, None)
                raise _expired()
            self._touch(remembered[1].key_id, moment)
            return remembered[1]
        row = await self.catalog.lookup(lambda conn: conn.execute(self._lookup, {"key_hash": key_hash}).first())
        if row is None:
            self._valid.pop(key_hash, None)
            raise Unauthorized("The API key is not valid or has been revoked.", code="auth_invalid_key")
        expires = utc(row.expires_at).timestamp() if row.expires_at is not None else math.inf
        if expires <= time.time():
            raise _expired()
        if row.credit_limit_micros is not None and int(row.spent) >= row.credit_limit_micros:
            raise PicshaError(
                f"The key has spent its credit limit of ${row.credit_limit_micros / 1_000_000:.2f}; use another key "
                "or ask for a higher limit.", code="key_credit_exhausted", status=402)
        role = Role(row.role) if row.role else Role.ADMIN  # no user: the operator's key
        granted = frozenset(row.scopes) if row.scopes is not None else None
        limited = granted is not None or row.credit_limit_micros is not None or row.expires_at is not None
        principal = Principal(account_id=row.account_id, key_id=row.id, user_id=row.user_id, role=role,
                              scopes=effective_scopes(role, granted), limited=limited)
        if self.cache_ttl_s > 0:
            if len(self._valid) >= KEY_CACHE_MAX:
                self._valid.pop(next(iter(self._valid)))
            self._valid[key_hash] = (moment + self.cache_ttl_s, principal, expires)
        self._touch(row.id, moment)
        return principal

    def _touch(self, key_id: str | None, moment: float) -> None:
        """Write ``last_used_at`` after the request, at most once a ``touch_interval_s`` per key."""
        if key_id is None or moment - self._touched.get(key_id, -math.inf) < self.touch_interval_s:
            return
        if len(self._touched) >= KEY_CACHE_MAX:
            self._touched.pop(next(iter(self._touched)))
        self._touched[key_id] = moment
        task = asyncio.get_running_loop().create_task(self._write_last_used(key_id))
        self._touching.add(task)
        task.add_done_callback(self._touching.discard)

    async def _write_last_used(self, key_id: str) -> None:
        k = tables.api_keys
        try:
            async with self.catalog.begin() as conn:
                await conn.execute(k.update().where(k.c.id == key_id).values(last_used_at=now()))
        except Exception:  # a busy catalog: the next use a minute on writes it
            log.warning("could not record the use of key %s", key_id, exc_info=True)

    async def close(self) -> None:
        """Let the last ``last_used_at`` writes finish."""
        if self._touching:
            await asyncio.gather(*self._touching, return_exceptions=True)

    @staticmethod
    def _info(row: Mapping[str, Any], spent: tuple[int, int] | None = None) -> ApiKeyInfo:
        data = {name: row.get(name) for name in ApiKeyInfo.model_fields if name not in ("credit_limit", "usage")}
        for field in ("created_at", "revoked_at", "last_used_at", "expires_at"):
            data[field] = utc(data[field])
        limit = row.get("credit_limit_micros")
        data["credit_limit"] = None if limit is None else limit / 1_000_000
        if spent is not None:
            data["usage"] = KeySpend(spend=f"{spent[0] / 1_000_000:.6f}", operations=spent[1])
        return ApiKeyInfo(**data)


def _expired() -> Unauthorized:
    return Unauthorized("The API key has expired; create a new one.", code="key_expired")
