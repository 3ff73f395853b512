"""The object store options LanceDB gets for the index: its own, else those of the S3 blob store.

One set of S3 settings then serves blobs (boto3) and index (LanceDB's Rust object store). Concurrent
writers need nothing more: Lance commits each table version with a conditional PUT (``If-None-Match: *``)
of its manifest, which AWS S3 has honoured since 2024 and which object_store sends by default; an
S3-compatible store without conditional writes needs ``storage_options`` of its own (or a ``s3+ddb://``
uri with a DynamoDB commit table), else concurrent commits could overwrite each other.
"""

from __future__ import annotations

from engine.search.settings import SearchSettings
from engine.settings import StorageBackend, StorageSettings


def index_storage_options(uri: str, search: SearchSettings, storage: StorageSettings) -> dict[str, str]:
    """``search.storage_options`` when set or when the index is not on S3; otherwise the S3 blob store's
    endpoint, region and keys in LanceDB's option names (keys left out fall back to AWS's usual chain)."""
    if search.storage_options or not uri.startswith("s3://") or storage.backend is not StorageBackend.S3:
        return dict(search.storage_options)
    options = {"aws_region": storage.s3_region}
    if storage.s3_endpoint_url:
        options["aws_endpoint"] = storage.s3_endpoint_url
        if storage.s3_endpoint_url.startswith("http://"):
            options["allow_http"] = "true"
    if storage.s3_access_key_id and storage.s3_secret_access_key:
        options["aws_access_key_id"] = storage.s3_access_key_id
        options["aws_secret_access_key"] = storage.s3_secret_access_key.get_secret_value()
    return options
