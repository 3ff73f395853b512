"""``PreviewService``: capped previews of assets and of renders, for tool and resource results."""

from __future__ import annotations

import anyio

from engine.assets.service import AssetService
from engine.auth.keys import Principal
from engine.previews.fit import Preview, fit_for_model
from engine.previews.settings import PreviewSettings
from engine.render.params import Fit, OutputFormat, RenderParams
from engine.render.service import RenderService
from engine.storage import BlobStore


class PreviewService:
    def __init__(self, *, settings: PreviewSettings, assets: AssetService, render: RenderService, store: BlobStore):
        self.settings = settings
        self.assets = assets
        self.render = render
        self.store = store
        self.cpu = anyio.CapacityLimiter(2)

    async def of_asset(self, principal: Principal, asset_id: str, *, max_side: int | None = None) -> Preview:
        """The whole asset (a document's first page), never enlarged, within the caps (and ``max_side``)."""
        asset = await self.assets.get(principal, asset_id)
        cap = self._caps(max_side).max_side
        longest = max(asset.meta.width or 0, asset.meta.height or 0) or cap
        side = min(longest, cap)
        params = RenderParams(w=side, h=side, fit=Fit.INSIDE, format=OutputFormat.WEBP)
        return await self.of_render(principal, asset_id, params, max_side=max_side)

    async def of_render(
        self, principal: Principal, asset_id: str, params: RenderParams, *, max_side: int | None = None
    ) -> Preview:
        """A render as a model may see it: the render itself when it fits, else a shrunk copy."""
        result = await self.render.render(asset_id, params, principal=principal, accept="image/webp,image/jpeg")
        data = await self.store.read_bytes(result.content.blob_key)
        return await self.fit(data, max_side=max_side)

    async def fit(self, data: bytes, *, max_side: int | None = None) -> Preview:
        caps = self._caps(max_side)
        return await anyio.to_thread.run_sync(fit_for_model, data, caps, limiter=self.cpu)

    def _caps(self, max_side: int | None) -> PreviewSettings:
        """The configured caps, tightened to ``max_side`` when a caller asks for a smaller preview."""
        if max_side is None or max_side >= self.settings.max_side:
            return self.settings
        return self.settings.model_copy(update={"max_side": max_side})
