"""The blob store every storage test runs on: the local folder and S3 (moto's server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.storage import BlobStore
from engine.storage.local import LocalBlobStore
from engine.storage.s3 import S3BlobStore
from tests.s3 import s3_settings


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    work = tmp_path / "tmp"
    if request.param == "local":
        blob_store: BlobStore = LocalBlobStore(tmp_path / "blobs", work)
    else:
        blob_store = S3BlobStore(s3_settings(request.getfixturevalue("moto_endpoint")), work)
    yield blob_store
    await blob_store.close()
