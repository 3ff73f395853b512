"""Blob storage behind one interface: a local folder or an S3-compatible bucket."""

from engine.storage.base import BlobStore, original_key
from engine.storage.factory import open_blob_store

__all__ = ["BlobStore", "open_blob_store", "original_key"]
