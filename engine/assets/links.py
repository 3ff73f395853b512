"""The signed links an asset answer carries (original bytes, thumbnail, PDF view)."""

from __future__ import annotations

from collections.abc import Mapping

from engine.assets.models import AssetUrls
from engine.auth.signing import UrlSigner


class AssetLinks:
    def __init__(self, signer: UrlSigner, public_url: str, *, thumbnail_query: Mapping[str, str] | None = None):
        self.signer = signer
        self.base = public_url.rstrip("/")
        # The render parameters of the ingest preview (normalised), so the link hits its cached derivative.
        self.thumbnail_query = dict(thumbnail_query or {})

    def signed(self, path: str, params: Mapping[str, str] | None = None, *, ttl_s: int | None = None) -> str:
        return self.base + self.signer.sign(path, params, ttl_s=ttl_s)

    def content(self, asset_id: str) -> str:
        return self.signed(f"/v1/assets/{asset_id}/content")

    def thumbnail(self, asset_id: str) -> str:
        """A signed render URL of the preview made at ingest."""
        return self.signed(f"/v1/assets/{asset_id}/render", self.thumbnail_query)

    def for_asset(self, asset_id: str, *, has_thumbnail: bool) -> AssetUrls:
        return AssetUrls(
            original=self.content(asset_id),
            thumbnail=self.thumbnail(asset_id) if has_thumbnail else None,
        )
