"""A throwaway PostgreSQL database per test, or a clear skip where no server is reachable."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

PG_DSN = os.environ.get("PICSHA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def fresh_database() -> AsyncIterator[str]:
    """Yield a SQLAlchemy URL of a new, empty database; dropped afterwards."""
    try:
        admin = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL must be reachable in CI at {PG_DSN}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {PG_DSN} ({error}); set PICSHA_TEST_POSTGRES to test it")
    name = f"picsha_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_DSN.rpartition("/")
    try:
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
