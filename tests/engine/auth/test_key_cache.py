"""Keys found valid are remembered briefly: revoked here, refused at once; revoked by another process (another
KeyService on the same catalog), refused once the remembered answer lapses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.auth.keys import KeyService
from engine.catalog import Catalog
from engine.errors import Unauthorized


async def test_a_revoked_key_is_refused_here_at_once_and_elsewhere_after_the_ttl(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    await catalog.migrate()
    try:
        here, elsewhere = KeyService(catalog, cache_ttl_s=0.3), KeyService(catalog, cache_ttl_s=0.3)
        account = await here.owner_account()
        first, first_secret = await here.create_key(account, "first")
        second, second_secret = await here.create_key(account, "second")
        for service in (here, elsewhere):
            for secret in (first_secret, second_secret):
                assert (await service.authenticate(secret)).account_id == account

        await here.revoke(account, first.id)
        with pytest.raises(Unauthorized):
            await here.authenticate(first_secret)
        assert (await elsewhere.authenticate(first_secret)).key_id == first.id  # remembered there, for now
        await asyncio.sleep(0.35)
        with pytest.raises(Unauthorized):
            await elsewhere.authenticate(first_secret)
        assert (await elsewhere.authenticate(second_secret)).key_id == second.id

        never = KeyService(catalog, cache_ttl_s=0)
        assert (await never.authenticate(second_secret)).key_id == second.id
        await here.revoke(account, second.id)
        with pytest.raises(Unauthorized):
            await never.authenticate(second_secret)
        with pytest.raises(Unauthorized):
            await here.authenticate("sk_live_not-a-key")
    finally:
        await catalog.close()
