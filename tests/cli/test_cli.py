"""The `picsha` command: keys, ingest and version, on a real data folder."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import Engine, Settings
from engine.assets import ListQuery
from engine.auth import Principal
from picsha_mcp.cli import app
from tests.factories import image_bytes

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PICSHA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and re.match(r"picsha \d+\.\d+\.\d+", result.output)


def test_keys_create_list_revoke(data_dir: Path) -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "laptop"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip()
    assert secret.startswith("sk_live_")

    async def authenticate() -> str:
        async with Engine.open(Settings(data_dir=data_dir)) as engine:
            return (await engine.keys.authenticate(secret)).account_id

    account_id = asyncio.run(authenticate())
    listed = runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"})
    assert "laptop" in listed.output and secret not in listed.output
    key_id = re.search(r"(key_[a-z0-9]+)", listed.output).group(1)
    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1
    assert account_id.startswith("acct_")


def test_ingest_files_and_folders(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(image_bytes(40, 30, "png"))
    (folder / "b.jpg").write_bytes(image_bytes(50, 30))
    (tmp_path / "bad.exe").write_bytes(b"MZ" + b"\x00" * 100)
    result = runner.invoke(app, ["ingest", str(folder), str(tmp_path / "bad.exe"), "--tag", "trip"], env={"COLUMNS": "400"})
    assert result.exit_code == 1, "a refused file makes the command fail"
    assert "2 of 3 files ingested" in result.output and "asset_content_type_not_allowed" in result.output

    printed = {name: asset_id for asset_id, name in re.findall(r"(as_\w+) +\S+/(\w+\.\w+)\n", result.output)}

    async def catalog() -> list[tuple[str, str, list[str], int | None, str, str | None]]:
        # No workers here: the command queues analysis for the server's workers and does not run it itself.
        async with Engine.open(Settings(data_dir=data_dir), run_jobs=False) as engine:
            owner = Principal(account_id=engine.owner_account_id)
            found = []
            for asset in (await engine.assets.list(owner, ListQuery())).items:
                job = await engine.jobs.latest_for_asset(owner.account_id, asset.id)
                found.append((asset.filename, asset.id, asset.tags, asset.meta.width, asset.status.value,
                              job.status.value if job else None))
            return sorted(found)

    assert asyncio.run(catalog()) == [
        ("a.png", printed["a.png"], ["trip"], 40, "processing", "queued"),  # stored; analysis waits for a worker
        ("b.jpg", printed["b.jpg"], ["trip"], 50, "processing", "queued"),
    ]
