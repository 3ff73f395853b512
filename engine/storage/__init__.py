"""Blob storage behind one interface: a local folder or an S3-compatible bucket."""

from engine.storage.base import BlobStore, StoredBlob, derivatives_prefix, original_key
from engine.storage.factory import open_blob_store

__all__ = ["BlobStore", "StoredBlob", "derivatives_prefix", "open_blob_store", "original_key"]
