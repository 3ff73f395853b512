"""Passwords hashed with argon2id (pwdlib), off the event loop. A check against no stored hash still hashes,
so a failed login takes as long whether or not the user exists."""

from __future__ import annotations

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from engine.accounts.settings import AccountSettings

NO_PASSWORD = ""  # a user made without a password (the owner's admin before first start): cannot log in


class Passwords:
    def __init__(self, settings: AccountSettings):
        self._hash = PasswordHash((Argon2Hasher(time_cost=settings.argon2_time_cost,
                                                memory_cost=settings.argon2_memory_kib),))
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, stored: str | None) -> bool:
        """True only for the right password of a real user; the same work either way."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        usable = stored not in (None, NO_PASSWORD)
        target = stored if usable else self._dummy
        matched = await asyncio.to_thread(self._hash.verify, password, target)
        return matched and usable


def generated_password() -> str:
    return secrets.token_urlsafe(15)
