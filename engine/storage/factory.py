from __future__ import annotations

from pathlib import Path

from engine.settings import Settings, StorageBackend
from engine.storage.base import BlobStore


def open_blob_store(settings: Settings, work_dir: Path) -> BlobStore:
    if settings.storage.backend is StorageBackend.S3:
        from engine.storage.s3 import S3BlobStore

        return S3BlobStore(settings.storage, work_dir)
    from engine.storage.local import LocalBlobStore

    return LocalBlobStore(settings.data_dir / "blobs", work_dir)
