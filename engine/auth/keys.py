"""Accounts and API keys. A key's secret is shown once; only its SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel

from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now, utc
from engine.errors import NotFound, Unauthorized
from engine.ids import IdPrefix, new_id

KEY_PREFIX = "sk_live_"
OWNER_ACCOUNT_ID = "acct_owner"
KEY_CACHE_TTL_S = 5.0  # how long a key found valid is trusted without asking the catalog again
KEY_CACHE_MAX = 10_000  # keys remembered at once (the oldest go first)


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

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class ApiKeyInfo(BaseModel):
    id: str
    name: str
    prefix: str
    account_id: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Keys and accounts. A key found valid is remembered for ``cache_ttl_s`` (0: never), so most requests
    make no catalog round trip for it; revoking forgets it in this process at once, while other processes
    serving the same catalog may still accept it for up to ``cache_ttl_s``. Keys not found are not
    remembered."""

    def __init__(self, catalog: Catalog, *, cache_ttl_s: float = KEY_CACHE_TTL_S):
        self.catalog = catalog
        self.cache_ttl_s = cache_ttl_s
        self._valid: dict[str, tuple[float, Principal]] = {}  # key hash -> (until, principal)
        k = tables.api_keys
        self._lookup = sa.select(k.c.id, k.c.account_id).where(
            k.c.key_hash == sa.bindparam("key_hash"), k.c.revoked_at.is_(None))

    async def create_account(self, name: str, *, is_owner: bool = False) -> str:
        account_id = new_id(IdPrefix.ACCOUNT)
        async with self.catalog.begin() as conn:
            await conn.execute(
                tables.accounts.insert().values(id=account_id, name=name, is_owner=is_owner, created_at=now())
            )
        return account_id

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

    async def create_key(self, account_id: str, name: str) -> tuple[ApiKeyInfo, str]:
        secret = KEY_PREFIX + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
        row = {
            "id": new_id(IdPrefix.KEY),
            "account_id": account_id,
            "name": name,
            "prefix": secret[: len(KEY_PREFIX) + 4],
            "key_hash": hash_secret(secret),
            "created_at": now(),
        }
        async with self.catalog.begin() as conn:
            await conn.execute(tables.api_keys.insert().values(**row))
        return ApiKeyInfo(**row), secret

    async def list_keys(self, account_id: str) -> list[ApiKeyInfo]:
        k = tables.api_keys
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(sa.select(k).where(k.c.account_id == account_id).order_by(k.c.created_at))).all()
        return [self._info(row) for row in rows]

    async def count_active_keys(self) -> int:
        k = tables.api_keys
        async with self.catalog.connect() as conn:
            return await conn.scalar(sa.select(sa.func.count()).select_from(k).where(k.c.revoked_at.is_(None))) or 0

    async def revoke(self, account_id: str, key_id: str) -> ApiKeyInfo:
        k = tables.api_keys
        async with self.catalog.begin() as conn:
            result = await conn.execute(
                k.update()
                .where(k.c.id == key_id, k.c.account_id == account_id, k.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            if result.rowcount == 0:
                raise NotFound(f"No active API key {key_id!r} in this account.", code="key_not_found")
            row = (await conn.execute(sa.select(k).where(k.c.id == key_id))).one()
        self._valid.pop(row.key_hash, None)
        return self._info(row)

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthorized(
                "An API key is required: send 'Authorization: Bearer sk_live_...'.", code="auth_required"
            )
        key_hash = hash_secret(secret)
        remembered = self._valid.get(key_hash)
        moment = time.monotonic()
        if remembered is not None and remembered[0] > moment:
            return remembered[1]
        row = await self.catalog.read(lambda conn: conn.execute(self._lookup, {"key_hash": key_hash}).first())
        if row is None:
            self._valid.pop(key_hash, None)
            raise Unauthorized("The API key is not valid or has been revoked.", code="auth_invalid_key")
        principal = Principal(account_id=row.account_id, key_id=row.id)
        if self.cache_ttl_s > 0:
            if len(self._valid) >= KEY_CACHE_MAX:
                self._valid.pop(next(iter(self._valid)))
            self._valid[key_hash] = (moment + self.cache_ttl_s, principal)
        return principal

    @staticmethod
    def _info(row: sa.Row) -> ApiKeyInfo:
        data = dict(row._mapping)
        for field in ("created_at", "revoked_at", "last_used_at"):
            data[field] = utc(data[field])
        return ApiKeyInfo(**data)
