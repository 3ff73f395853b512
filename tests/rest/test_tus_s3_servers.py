"""TUS behind a load balancer: two Picsha servers on uvicorn (one catalog, one bucket on moto's S3 server,
a data folder each, as on two machines), with the chunks of one upload going to either of them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx2
import pytest
from tusclient import client as tus

from engine.settings import CatalogSettings, StorageSettings
from tests.conftest import LiveServer
from tests.factories import make_key, make_settings
from tests.s3 import s3_settings

ENDPOINT = "/v1/upload/resumable"
TUS = {"Tus-Resumable": "1.0.0"}
MIB = 1024 * 1024


class Cluster:
    def __init__(self, storage: StorageSettings, servers: list[LiveServer], key: str):
        self.storage, self.servers, self.key = storage, servers, key
        self.auth = {"Authorization": f"Bearer {key}"}
        self.s3: Any = boto3.client(
            "s3", endpoint_url=storage.s3_endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

    def spool_objects(self) -> list[str]:
        found = self.s3.list_objects_v2(Bucket=self.storage.s3_bucket, Prefix=f"{self.storage.s3_prefix}/uploads/")
        return [item["Key"] for item in found.get("Contents", [])]

    def multipart_uploads(self) -> list[Any]:
        return self.s3.list_multipart_uploads(Bucket=self.storage.s3_bucket).get("Uploads", [])


@pytest.fixture
def cluster(moto_endpoint: str, tmp_path: Path) -> Iterator[Cluster]:
    storage = s3_settings(moto_endpoint)
    catalog = CatalogSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    settings = [make_settings(tmp_path / name, storage=storage, catalog=catalog) for name in ("one", "two")]
    key = make_key(settings[0], "alice")
    with LiveServer(settings[0]) as one, LiveServer(settings[1]) as two:
        yield Cluster(storage, [one, two], key)


def text_file(path: Path, size: int) -> bytes:
    line = b"one upload, its chunks spread over the servers behind a load balancer.\n"
    data = (line * (size // len(line) + 1))[:size]
    path.write_bytes(data)
    return data


def check_asset(cluster: Cluster, asset_id: str, data: bytes) -> None:
    server = cluster.servers[0].url
    asset = httpx2.get(f"{server}/v1/assets/{asset_id}", headers=cluster.auth, timeout=30).json()
    content = httpx2.get(f"{server}/v1/assets/{asset_id}/content", headers=cluster.auth, timeout=30)
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert content.content == data


def test_tuspy_chunks_alternate_between_servers(cluster: Cluster, tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    data = text_file(source, 19 * MIB + 321)
    uploader = tus.TusClient(f"{cluster.servers[0].url}{ENDPOINT}", headers=cluster.auth).uploader(
        file_path=str(source), chunk_size=2 * MIB, metadata={"filename": "report.txt"}, upload_checksum=True
    )
    uploader.set_url(uploader.create_url())
    path = urlsplit(uploader.url).path
    # below the 5 MiB part size, then above it, then below again; the last chunk is what is left
    for turn, size in enumerate((2 * MIB, 2 * MIB, 2 * MIB, 6 * MIB, MIB, 3 * MIB, 2 * MIB, 2 * MIB)):
        uploader.url = f"{cluster.servers[turn % 2].url}{path}"
        uploader.chunk_size = size
        uploader.upload_chunk()
    assert uploader.offset == len(data)
    check_asset(cluster, uploader.request.response_headers["upload-asset-id"], data)
    assert cluster.spool_objects() == [] and cluster.multipart_uploads() == []


def patch(cluster: Cluster, turn: int, path: str, offset: int, chunk: bytes) -> httpx2.Response:
    headers = cluster.auth | TUS | {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)}
    answer = httpx2.patch(f"{cluster.servers[turn % 2].url}{path}", headers=headers, content=chunk, timeout=60)
    assert answer.status_code == 204, answer.text
    assert answer.headers["upload-offset"] == str(offset + len(chunk))
    return answer


def create(cluster: Cluster, length: int) -> str:
    headers = cluster.auth | TUS | {"Upload-Length": str(length)}
    created = httpx2.post(f"{cluster.servers[1].url}{ENDPOINT}", headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    return urlsplit(created.headers["location"]).path


def test_small_chunks_of_a_small_file_alternate_between_servers(cluster: Cluster, tmp_path: Path) -> None:
    data = text_file(tmp_path / "notes.txt", 3 * MIB + 5)
    path = create(cluster, len(data))
    offset = 0
    for turn, size in enumerate((MIB, 700_000, MIB)):
        patch(cluster, turn, path, offset, data[offset : offset + size])
        offset += size
    last = patch(cluster, 3, path, offset, data[offset:])
    check_asset(cluster, last.headers["upload-asset-id"], data)
    assert cluster.spool_objects() == [] and cluster.multipart_uploads() == []


def test_termination_on_the_other_server_removes_the_spool(cluster: Cluster, tmp_path: Path) -> None:
    data = text_file(tmp_path / "dropped.txt", 20 * MIB)
    path = create(cluster, len(data))
    offset = 0
    for turn, size in enumerate((MIB, 6 * MIB, 2 * MIB)):
        patch(cluster, turn, path, offset, data[offset : offset + size])
        offset += size
    assert cluster.spool_objects() and cluster.multipart_uploads()
    gone = httpx2.delete(f"{cluster.servers[1].url}{path}", headers=cluster.auth | TUS, timeout=30)
    assert gone.status_code == 204, gone.text
    assert cluster.spool_objects() == [] and cluster.multipart_uploads() == []
    head = httpx2.head(f"{cluster.servers[0].url}{path}", headers=cluster.auth | TUS, timeout=30)
    assert head.status_code == 404
