"""Build the upload service for the configured blob store and start its expiry sweeper."""

from __future__ import annotations

from typing import Any

from engine.assets.service import AssetService
from engine.catalog import Catalog
from engine.ingest import IngestService
from engine.settings import Settings, StorageBackend
from engine.storage import BlobStore
from engine.uploads.records import UploadRecords
from engine.uploads.service import UploadService, spool_root
from engine.uploads.spool import LocalSpool, Spool
from engine.uploads.sweeper import Sweeper


class Uploads(UploadService):
    """The service plus its background sweeper: ``engine.uploads``."""

    def __init__(self, *, sweep_interval_s: float, **service: Any):
        super().__init__(**service)
        self.sweeper = Sweeper(self, sweep_interval_s)
        self.sweeper.start()

    async def close(self) -> None:
        await self.sweeper.stop()


def _spool(settings: Settings, store: BlobStore) -> Spool:
    root, limit = spool_root(settings.data_dir), settings.ingest.max_bytes
    if settings.storage.backend is StorageBackend.S3:
        from engine.storage.s3 import S3BlobStore
        from engine.uploads.s3_spool import S3Spool

        assert isinstance(store, S3BlobStore)
        return S3Spool(root, limit, store, settings.storage.s3_multipart_chunk_bytes)
    return LocalSpool(root, limit)


def start_uploads(
    settings: Settings, *, catalog: Catalog, store: BlobStore, ingest: IngestService, assets: AssetService
) -> Uploads:
    return Uploads(
        settings=settings.uploads, records=UploadRecords(catalog), spool=_spool(settings, store), ingest=ingest,
        assets=assets, max_bytes=settings.ingest.max_bytes, sweep_interval_s=settings.uploads.sweep_interval_s,
    )
