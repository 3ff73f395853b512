"""The owner account's admin: one, even when processes start together on a new catalog; without a password
until the first start gives it one, it cannot log in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.accounts.passwords import Passwords
from engine.accounts.sessions import SessionService
from engine.accounts.settings import AccountSettings
from engine.accounts.users import UserService
from engine.auth.keys import KeyService
from engine.catalog import Catalog
from engine.errors import Unauthorized


async def test_processes_starting_together_make_one_admin_who_cannot_log_in_yet(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await catalog.migrate()
    settings = AccountSettings(argon2_memory_kib=1024, argon2_time_cost=1)
    try:
        keys = KeyService(catalog)
        account = await keys.owner_account()

        def services() -> tuple[UserService, SessionService]:
            passwords = Passwords(settings)
            sessions = SessionService(catalog, passwords, settings, cache_ttl_s=5)
            return UserService(catalog, passwords, keys, sessions, settings), sessions

        admins = await asyncio.gather(*(services()[0].owner_admin(account) for _ in range(8)))
        users, sessions = services()
        assert len(set(admins)) == 1 and await users.owner_admin(account) == admins[0]
        assert [u.username for u in await users.list(account)] == ["admin"]
        assert not await users.admin_can_log_in(account)
        for password in ("", "admin", "password"):
            with pytest.raises(Unauthorized):
                await sessions.login("admin", password, ip=None)
        await users.set_password(account, admins[0], "now it has one")
        assert await users.admin_can_log_in(account)
        assert (await sessions.login("admin", "now it has one", ip=None)).user.role == "admin"
    finally:
        await catalog.close()
