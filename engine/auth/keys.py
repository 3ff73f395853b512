"""Accounts and API keys. A key's secret is shown once; only its SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel

from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now, utc
from engine.errors import NotFound, Unauthorized
from engine.ids import IdPrefix, new_id

KEY_PREFIX = "sk_live_"
OWNER_ACCOUNT_ID = "acct_owner"


class Principal(BaseModel):
    """Who is calling: every catalog query is scoped by ``account_id``."""

    account_id: str
    key_id: str | None = None


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
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

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
        return self._info(row)

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise Unauthorized(
                "An API key is required: send 'Authorization: Bearer sk_live_...'.", code="auth_required"
            )
        k = tables.api_keys
        async with self.catalog.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(k.c.id, k.c.account_id).where(
                        k.c.key_hash == hash_secret(secret), k.c.revoked_at.is_(None)
                    )
                )
            ).first()
        if row is None:
            raise Unauthorized("The API key is not valid or has been revoked.", code="auth_invalid_key")
        return Principal(account_id=row.account_id, key_id=row.id)

    @staticmethod
    def _info(row: sa.Row) -> ApiKeyInfo:
        data = dict(row._mapping)
        for field in ("created_at", "revoked_at", "last_used_at"):
            data[field] = utc(data[field])
        return ApiKeyInfo(**data)
