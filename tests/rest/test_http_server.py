"""The upload and download path over real HTTP: uvicorn on 127.0.0.1, and `picsha serve` as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa

from engine import Engine
from engine.catalog import tables
from engine.enrich.skills import ANALYSIS_FLAGS
from tests.conftest import LiveServer, free_port
from tests.factories import image_bytes, make_key, make_settings


def test_upload_and_download_over_http(live_server: LiveServer) -> None:
    key = make_key(live_server.settings)
    headers = {"Authorization": f"Bearer {key}"}
    data = image_bytes(1600, 1200, "png")
    with httpx2.Client(base_url=live_server.url, timeout=30) as http:
        created = http.post("/v1/assets", headers=headers, files={"file": ("big.png", data)})
        assert created.status_code == 201, created.text
        asset = created.json()
        assert asset["urls"]["original"].startswith(live_server.url)
        assert http.get(asset["urls"]["original"]).content == data  # signed: no key needed
        ranged = http.get(f"/v1/assets/{asset['id']}/content", headers=headers | {"Range": "bytes=100-199"})
        assert ranged.status_code == 206 and ranged.content == data[100:200]
        raw = http.post(
            "/v1/assets", headers=headers | {"Content-Type": "application/octet-stream", "X-Filename": "r.png"},
            content=iter([data[:5000], data[5000:]]),
        )
        assert raw.status_code == 201 and raw.json()["meta"]["sha256"] == asset["meta"]["sha256"]


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"PICSHA_DATA_DIR": str(data_dir), "PICSHA_PORT": str(port), "PICSHA_HOST": "127.0.0.1"}
    env |= {f"PICSHA_ENRICH__DEFAULTS__{flag.upper()}": "false" for flag in ANALYSIS_FLAGS}  # 201 ready, no models
    process = subprocess.Popen(
        [sys.executable, "-m", "picsha_mcp.cli", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx2.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"picsha serve did not start: {process.stdout.read() if process.stdout else ''}")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


@pytest.mark.slow
def test_killed_during_a_large_upload(data_dir: Path, tmp_path: Path) -> None:
    """kill -9 mid-upload: after restart no asset row points at a missing blob and temp files are gone."""
    settings = make_settings(tmp_path).model_copy(update={"data_dir": data_dir})
    key = make_key(settings)
    port = free_port()
    server = _serve(data_dir, port)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream", "X-Filename": "big.bin"}
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            assert http.post("/v1/assets", headers=headers, content=image_bytes(64, 64, "png")).status_code == 201

            def slow_body() -> Iterator[bytes]:
                chunk = os.urandom(1024 * 1024)
                for index in range(200):
                    if index == 20:
                        staged = [p for p in (data_dir / "tmp").rglob("staged-*")]
                        assert staged, "the upload is being staged under the data folder"
                        server.send_signal(signal.SIGKILL)
                    yield chunk

            with pytest.raises(httpx2.HTTPError):
                http.post("/v1/assets", headers=headers, content=slow_body())
    finally:
        server.kill()
        server.wait(timeout=30)
    assert [p for p in (data_dir / "tmp").rglob("staged-*")], "the killed process left its staging file"

    restarted = _serve(data_dir, port)
    try:
        assert not [p for p in (data_dir / "tmp").rglob("staged-*")], "start-up removed the orphaned staging file"
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)

    async def check() -> None:
        async with Engine.open(settings) as engine:
            async with engine.catalog.connect() as conn:
                keys = (await conn.execute(sa.select(tables.assets.c.blob_key))).scalars().all()
            assert len(keys) == 1
            for key in keys:
                assert await engine.store.exists(key)

    asyncio.run(check())
