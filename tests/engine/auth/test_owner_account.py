"""The owner account: one, even when several processes start together on a new catalog."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.auth.keys import KeyService
from engine.catalog import Catalog


async def test_processes_starting_together_on_a_new_catalog_agree_on_one_owner(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await catalog.migrate()
    try:
        owners = await asyncio.gather(*(KeyService(catalog).owner_account() for _ in range(8)))
        again = await KeyService(catalog).owner_account()
    finally:
        await catalog.close()
    assert len(set(owners)) == 1 and again == owners[0]
