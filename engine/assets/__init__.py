"""Assets: the catalog entries users upload, list, update, download and delete."""

from engine.assets.models import (
    Asset,
    AssetAI,
    AssetMeta,
    AssetPage,
    AssetPatch,
    AssetStatus,
    AssetType,
    AssetUrls,
    IngestConfig,
    IngestOptions,
    ListQuery,
    Location,
)

__all__ = [
    "Asset", "AssetAI", "AssetMeta", "AssetPage", "AssetPatch", "AssetStatus", "AssetType", "AssetUrls",
    "IngestConfig", "IngestOptions", "ListQuery", "Location",
]
