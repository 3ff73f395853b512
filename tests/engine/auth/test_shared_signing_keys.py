"""Signing keys kept in the catalog: every engine on one catalog signs alike, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from engine import Engine, Settings
from engine.auth import UrlSigner
from engine.auth.signing_keys import SHARED_KID, shared_keys
from engine.catalog import Catalog, tables
from engine.settings import CatalogSettings, SigningSettings


def split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))




@pytest.fixture
async def catalog(shared_settings: Settings) -> AsyncIterator[Catalog]:
    shared_settings.data_dir.mkdir(parents=True, exist_ok=True)
    opened = Catalog(shared_settings.catalog_url())
    await opened.migrate()
    yield opened
    await opened.close()


async def test_two_engines_verify_each_others_signed_urls(shared_settings: Settings, tmp_path: Path) -> None:
    elsewhere = shared_settings.model_copy(update={"data_dir": tmp_path / "other-machine"})
    if shared_settings.catalog.url is None:  # SQLite: the same catalog file from a second data folder
        elsewhere.catalog = CatalogSettings(url=shared_settings.catalog_url())
    async with Engine.open(shared_settings, run_jobs=False) as first, Engine.open(elsewhere, run_jobs=False) as second:
        assert first.signer.current_kid == second.signer.current_kid == SHARED_KID
        second.signer.verify(*split(first.signer.sign("/v1/assets/as_1/content", {"w": "100"})))
        first.signer.verify(*split(second.signer.sign("/v1/assets/as_2/render")))
    assert not (shared_settings.data_dir / "signing-keys.json").exists()


async def test_a_concurrent_first_start_ends_with_one_key(catalog: Catalog) -> None:
    found = await asyncio.gather(*(shared_keys(catalog) for _ in range(8)))
    assert all(keys == found[0] for keys in found) and list(found[0]) == [SHARED_KID]


async def test_keys_from_signing_keys_json_are_imported_once(catalog: Catalog, tmp_path: Path) -> None:
    legacy = tmp_path / "signing-keys.json"
    legacy.write_text(json.dumps({"k1700000000": "ab" * 32}))
    before = legacy.read_text()
    keys = await shared_keys(catalog, legacy_file=legacy)
    assert list(keys) == [SHARED_KID, "k1700000000"] and keys["k1700000000"] == bytes.fromhex("ab" * 32)
    assert await shared_keys(catalog, legacy_file=legacy) == keys, "importing again changes nothing"
    assert await shared_keys(catalog) == keys, "a process without the file reads it from the catalog"
    assert legacy.read_text() == before, "the file is left alone"
    async with catalog.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tables.signing_keys))).scalar_one() == 2


async def test_links_signed_with_the_old_file_key_keep_working(shared_settings: Settings) -> None:
    shared_settings.data_dir.mkdir(parents=True, exist_ok=True)
    (shared_settings.data_dir / "signing-keys.json").write_text(json.dumps({"k1": "cd" * 32}))
    old_link = UrlSigner({"k1": bytes.fromhex("cd" * 32)}).sign("/v1/assets/as_1/content")
    async with Engine.open(shared_settings, run_jobs=False) as engine:
        engine.signer.verify(*split(old_link))
        assert engine.signer.current_kid == SHARED_KID


async def test_configured_keys_win(shared_settings: Settings) -> None:
    shared_settings.signing = SigningSettings(keys={"mine": SecretStr("configured-secret")})
    async with Engine.open(shared_settings, run_jobs=False) as engine:
        assert engine.signer.keys == {"mine": b"configured-secret"}
        async with engine.catalog.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(tables.signing_keys))).scalar_one() == 0
