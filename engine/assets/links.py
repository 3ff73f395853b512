"""The signed links an asset answer carries (original bytes, thumbnail, PDF view)."""

from __future__ import annotations

from engine.assets.models import AssetUrls
from engine.auth.signing import UrlSigner


class AssetLinks:
    def __init__(self, signer: UrlSigner, public_url: str):
        self.signer = signer
        self.base = public_url.rstrip("/")

    def signed(self, path: str, params: dict[str, str] | None = None, *, ttl_s: int | None = None) -> str:
        return self.base + self.signer.sign(path, params, ttl_s=ttl_s)

    def content(self, asset_id: str) -> str:
        return self.signed(f"/v1/assets/{asset_id}/content")

    def thumbnail(self, asset_id: str) -> str:
        return self.signed(f"/v1/assets/{asset_id}/thumbnail")

    def for_asset(self, asset_id: str, *, has_thumbnail: bool) -> AssetUrls:
        return AssetUrls(
            original=self.content(asset_id),
            thumbnail=self.thumbnail(asset_id) if has_thumbnail else None,
        )
