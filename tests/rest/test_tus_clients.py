"""Real TUS clients against Picsha on uvicorn (127.0.0.1): tuspy and, under Node.js, tus-js-client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError
from tusclient.storage.filestorage import FileStorage

from engine import Settings
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.uploads.records import UploadRecords
from tests.conftest import LiveServer
from tests.factories import image_bytes, make_key

T = TypeVar("T")


def in_catalog(settings: Settings, work: Callable[[Catalog], Awaitable[T]]) -> T:
    """Read or change the catalog the live server uses, without starting a second engine beside it."""

    async def run() -> T:
        catalog = Catalog(settings.catalog_url())
        try:
            return await work(catalog)
        finally:
            await catalog.close()

    return asyncio.run(run())


ENDPOINT = "/v1/upload/resumable"
TUS_JS = Path(__file__).resolve().parents[1] / "tus_js"


def text_file(path: Path, size: int) -> bytes:
    line = b"A large document sent over an unstable connection, resumed where it stopped.\n"
    data = (line * (size // len(line) + 1))[:size]
    path.write_bytes(data)
    return data


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def asset_of(server: LiveServer, key: str, asset_id: str) -> dict[str, object]:
    answer = requests.get(f"{server.url}/v1/assets/{asset_id}", headers=auth(key), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def status_of(server: LiveServer, key: str, url: str) -> dict[str, object]:
    return requests.get(f"{server.url}{urlsplit(url).path}", headers=auth(key), timeout=30).json()


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    return {name: make_key(settings, name) for name in ("alice", "mallory")}


@pytest.fixture
def server(settings: Settings, keys: dict[str, str]) -> Iterator[LiveServer]:
    with LiveServer(settings) as running:
        yield running


def cut_mid_chunk(url: str, key: str, offset: int, chunk: bytes) -> None:
    """A PATCH whose connection drops half-way through its body (what a flaky network does)."""
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {key}\r\n"
        f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Upload-Offset: {offset}\r\nContent-Length: {len(chunk)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head + chunk[: len(chunk) // 2])


def wait_for_offset_above(server: LiveServer, key: str, url: str, offset: int) -> int:
    """The server keeps the bytes of a dropped PATCH; wait until it has recorded them."""
    for _ in range(400):
        found = status_of(server, key, url)
        if found["offset"] > offset:
            return int(found["offset"])
        time.sleep(0.025)
    raise AssertionError(f"the offset stayed at {offset}")


def test_tuspy_cut_off_half_way_then_resumed_by_a_new_client(
    server: LiveServer, keys: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "report.txt"
    data = text_file(source, 3 * 1024 * 1024 + 123)
    storage = FileStorage(str(tmp_path / "tus-urls.json"))
    first = tus.TusClient(f"{server.url}{ENDPOINT}", headers=auth(keys["alice"]))
    uploader = first.uploader(
        file_path=str(source), chunk_size=256 * 1024, metadata={"filename": "report.txt"},
        store_url=True, url_storage=storage, upload_checksum=True,
    )
    uploader.upload(stop_at=len(data) // 2)
    url = uploader.url
    cut_mid_chunk(url, keys["alice"], uploader.offset, data[uploader.offset : uploader.offset + 256 * 1024])
    kept = wait_for_offset_above(server, keys["alice"], url, uploader.offset)
    assert kept % (256 * 1024) != 0, "the dropped PATCH's bytes that arrived are kept"

    second = tus.TusClient(f"{server.url}{ENDPOINT}", headers=auth(keys["alice"]))
    resumed = second.uploader(
        file_path=str(source), chunk_size=256 * 1024, store_url=True, url_storage=storage, retries=3, retry_delay=0.2
    )
    assert resumed.url == url and resumed.offset == kept
    resumed.upload()
    asset_id = resumed.request.response_headers["upload-asset-id"]
    asset = asset_of(server, keys["alice"], asset_id)
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest() and asset["filename"] == "report.txt"
    assert status_of(server, keys["alice"], url)["asset_id"] == asset_id


def test_server_restart_between_chunks(settings: Settings, keys: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    data = image_bytes(900, 700, "png")
    source.write_bytes(data)
    with LiveServer(settings) as before:
        uploader = tus.TusClient(f"{before.url}{ENDPOINT}", headers=auth(keys["alice"])).uploader(
            file_path=str(source), chunk_size=len(data) // 4 + 1, metadata={"filename": "photo.png"}
        )
        uploader.upload_chunk()
        uploader.upload_chunk()
        path = urlsplit(uploader.url).path
    with LiveServer(settings) as after:
        again = tus.TusClient(f"{after.url}{ENDPOINT}", headers=auth(keys["alice"])).uploader(
            file_path=str(source), chunk_size=len(data) // 4 + 1, url=f"{after.url}{path}"
        )
        assert again.offset == 2 * (len(data) // 4 + 1)
        again.upload()
        asset = asset_of(after, keys["alice"], again.request.response_headers["upload-asset-id"])
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (asset["meta"]["width"], asset["meta"]["height"]) == (900, 700)


def test_another_accounts_key_cannot_see_or_resume(server: LiveServer, keys: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "private.txt"
    text_file(source, 200_000)
    uploader = tus.TusClient(f"{server.url}{ENDPOINT}", headers=auth(keys["alice"])).uploader(
        file_path=str(source), chunk_size=64 * 1024
    )
    uploader.upload(stop_at=64 * 1024)
    with pytest.raises(TusCommunicationError) as refused:
        tus.TusClient(f"{server.url}{ENDPOINT}", headers=auth(keys["mallory"])).uploader(
            file_path=str(source), chunk_size=64 * 1024, url=uploader.url
        )
    assert refused.value.status_code == 404
    answer = requests.patch(
        uploader.url, data=b"x" * 10, timeout=30,
        headers=auth(keys["mallory"]) | {"Tus-Resumable": "1.0.0", "Upload-Offset": "65536",
                                         "Content-Type": "application/offset+octet-stream"},
    )
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "upload_not_found"
    assert status_of(server, keys["alice"], uploader.url)["offset"] == 64 * 1024


def test_expired_upload_is_refused_and_its_bytes_removed(
    settings: Settings, keys: dict[str, str], tmp_path: Path
) -> None:
    settings.uploads.sweep_interval_s = 0.1
    source = tmp_path / "late.txt"
    text_file(source, 300_000)
    with LiveServer(settings) as server:
        uploader = tus.TusClient(f"{server.url}{ENDPOINT}", headers=auth(keys["alice"])).uploader(
            file_path=str(source), chunk_size=100_000
        )
        uploader.upload(stop_at=100_000)
        upload_id = urlsplit(uploader.url).path.rsplit("/", 1)[-1]
        spooled = settings.data_dir / "uploads" / f"{upload_id}.bin"
        assert spooled.exists()

        in_catalog(settings, lambda catalog: UploadRecords(catalog).update(upload_id, expires_at=now() - timedelta(seconds=1)))
        for _ in range(400):
            if not spooled.exists():
                break
            time.sleep(0.025)
        assert not spooled.exists()
        with pytest.raises(TusCommunicationError) as gone:
            uploader.upload_chunk()
        assert gone.value.status_code in (404, 410)


def run_node(script_options: dict[str, object]) -> dict[str, object]:
    done = subprocess.run(
        ["node", str(TUS_JS / "upload.mjs"), json.dumps(script_options)], cwd=TUS_JS,
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_tus_js_client_50_mb_interrupted_then_resumed(
    server: LiveServer, keys: dict[str, str], tmp_path: Path
) -> None:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: tus-js-client runs under node")
    if not (TUS_JS / "node_modules" / "tus-js-client").exists():
        pytest.skip("tus-js-client is not installed: run 'npm install' in tests/tus_js (make test does)")
    source = tmp_path / "big.txt"
    data = text_file(source, 50 * 1024 * 1024)
    options = {
        "endpoint": f"{server.url}{ENDPOINT}", "file": str(source), "key": keys["alice"], "filename": "big.txt",
        "chunkSize": 4 * 1024 * 1024, "storage": str(tmp_path / "tus-js-urls.json"),
    }
    first = run_node(options | {"stopAt": 22 * 1024 * 1024})
    assert first["aborted"] and first["assetId"] is None
    interrupted_at = int(status_of(server, keys["alice"], first["url"])["offset"])
    assert 0 < interrupted_at < len(data)
    second = run_node(options | {"overridePatchMethod": True})  # and through X-HTTP-Method-Override
    assert second["resumedFrom"] == first["url"] and second["assetId"]
    asset = asset_of(server, keys["alice"], second["assetId"])
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest() and asset["meta"]["size"] == len(data)
    assert asset["tags"] == ["tus-js"]


def lease_of(settings: Settings, upload_id: str) -> str | None:
    """Who holds the upload's write lease, read from the catalog the server uses."""

    async def read(catalog: Catalog) -> str | None:
        async with catalog.connect() as conn:
            return await conn.scalar(sa.select(tables.uploads.c.lease).where(tables.uploads.c.id == upload_id))

    return in_catalog(settings, read)


def test_a_second_patch_while_one_is_writing_gets_423(
    settings: Settings, server: LiveServer, keys: dict[str, str]
) -> None:
    headers = auth(keys["alice"]) | {"Tus-Resumable": "1.0.0"}
    created = requests.post(f"{server.url}{ENDPOINT}", headers=headers | {"Upload-Length": "1000"}, timeout=30)
    url = created.headers["location"]
    upload_id = url.rsplit("/", 1)[-1]
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {keys['alice']}\r\n"
        "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as slow:
        slow.sendall(head + b"a" * 300)  # ... and the rest never comes while the second PATCH tries
        for _ in range(400):
            if lease_of(settings, upload_id):
                break
            time.sleep(0.025)
        second = requests.patch(
            url, data=b"b" * 1000, timeout=30,
            headers=headers | {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert second.status_code == 423 and second.json()["error"]["code"] == "upload_locked"
    assert wait_for_offset_above(server, keys["alice"], url, 0) == 300
