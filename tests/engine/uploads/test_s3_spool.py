"""Resumable uploads on the S3 backend (moto's server on 127.0.0.1): chunks become multipart parts."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from engine import Engine
from engine.auth import Principal
from engine.uploads.models import UploadCreate, UploadStatus
from tests.factories import make_settings
from tests.s3 import s3_settings

MIB = 1024 * 1024


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def text_file(size: int) -> bytes:
    line = b"resumable uploads land in S3 multipart parts, line after line.\n"
    return (line * (size // len(line) + 1))[:size]


async def test_chunks_become_parts_and_survive_a_restart(moto_endpoint: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, storage=s3_settings(moto_endpoint))
    data = text_file(12 * MIB + 12345)
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        upload = await engine.uploads.create(owner, UploadCreate(length=len(data), metadata={"filename": "big.txt"}))
        # 3 MiB chunks: parts ship once the local tail reaches the 5 MiB part size.
        await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[: 6 * MIB], 3 * MIB))
        row = await engine.uploads.records.fetch(owner.account_id, upload.id)
        assert row is not None and len(row["spool"]["etags"]) == 1 and row["spool"]["shipped"] == 6 * MIB
        assert not engine.uploads.spool.tail(upload.id).exists()
    async with Engine.open(settings) as engine:
        rest = data[6 * MIB :]
        done = await engine.uploads.append(owner, upload.id, offset=6 * MIB, chunks=chunks(rest, 1 * MIB))
        asset = await engine.uploads.finished_asset(owner, upload.id)
        stored = await engine.store.read_bytes(f"originals/{asset.meta.sha256[:2]}/{asset.meta.sha256}")
        leftovers = os.listdir(settings.data_dir / "uploads")
    assert done.status is UploadStatus.DONE
    assert asset.meta.sha256 == hashlib.sha256(data).hexdigest() and stored == data
    assert leftovers == []


async def test_terminate_aborts_the_multipart_upload(moto_endpoint: str, tmp_path: Path) -> None:
    storage = s3_settings(moto_endpoint)
    settings = make_settings(tmp_path, storage=storage)
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        upload = await engine.uploads.create(owner, UploadCreate(length=20 * MIB))
        await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(text_file(6 * MIB), MIB))
        client = engine.store.client  # type: ignore[attr-defined]
        assert client.list_multipart_uploads(Bucket=storage.s3_bucket).get("Uploads")
        await engine.uploads.terminate(owner, upload.id)
        assert not client.list_multipart_uploads(Bucket=storage.s3_bucket).get("Uploads")
