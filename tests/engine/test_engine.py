"""The Engine: start-up on an empty folder, cleanup of orphans, and the S3 backend wired end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine import Engine
from engine.assets import IngestOptions, ListQuery
from engine.auth import Principal
from engine.engine import remove_orphaned_work_dirs
from tests.factories import image_bytes, make_settings
from tests.s3 import s3_settings


async def test_starts_on_an_empty_folder(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with Engine.open(settings) as engine:
        first_owner, first_keys = engine.owner_account_id, engine.signer.keys
    assert (settings.data_dir / "catalog.db").exists()
    assert not (settings.data_dir / "signing-keys.json").exists(), "the signing key lives in the catalog"
    async with Engine.open(settings) as engine:
        assert engine.owner_account_id == first_owner, "the owner account is made once"
        assert engine.signer.keys == first_keys, "and so is the signing key"


def test_orphaned_work_dirs_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_dir = tmp_path / f"proc-{dead.stdout.strip()}-abcd"
    live_dir = tmp_path / f"proc-{os.getpid()}-abcd"
    for folder in (dead_dir, live_dir):
        folder.mkdir()
        (folder / "staged-1").write_bytes(b"x")
    (tmp_path / "stray-file").write_bytes(b"x")
    removed = remove_orphaned_work_dirs(tmp_path)
    assert sorted(removed) == sorted([dead_dir, tmp_path / "stray-file"])
    assert (live_dir / "staged-1").exists()


async def test_ingest_on_s3(tmp_path: Path, moto_endpoint: str) -> None:
    settings = make_settings(tmp_path, storage=s3_settings(moto_endpoint))
    data = image_bytes(200, 100, "png")
    source = tmp_path / "photo.png"
    source.write_bytes(data)
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        asset = await engine.ingest.from_path(owner, source, IngestOptions())
        content = await engine.assets.content(asset.id, owner)
        assert b"".join([c async for c in engine.assets.stream(content)]) == data
        assert not (settings.data_dir / "blobs").exists(), "nothing is written to the local folder"
        await engine.assets.delete(owner, asset.id)
        assert not await engine.store.exists(content.blob_key)
        assert (await engine.assets.list(owner, ListQuery())).total == 0
