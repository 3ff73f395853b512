"""Build the upload service for the configured blob store and start its expiry sweeper."""

from __future__ import annotations

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

    sweeper: Sweeper

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
    uploads = Uploads(
        settings=settings.uploads, records=UploadRecords(catalog), spool=_spool(settings, store), ingest=ingest,
        assets=assets, max_bytes=settings.ingest.max_bytes,
    )
    uploads.sweeper = Sweeper(uploads, settings.uploads.sweep_interval_s)
    uploads.sweeper.start()
    return uploads
