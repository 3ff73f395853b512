"""Many assets as one ZIP, streamed entry by entry (for bulk download and share links)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from engine.assets.service import AssetService
from engine.auth.keys import Principal
from engine.errors import NotFound
from engine.media.zipstream import ZipStream


async def zip_of(assets: AssetService, principal: Principal, asset_ids: Sequence[str]) -> AsyncIterator[bytes]:
    """The caller's live assets among ``asset_ids``, each under its file name (made unique); ones that are gone
    by the time their turn comes are left out. Each delivery is written to the usage ledger."""
    archive = ZipStream()
    for asset_id in dict.fromkeys(asset_ids):
        try:
            content = await assets.content(asset_id, principal)
        except NotFound:
            continue
        data = b"".join([chunk async for chunk in assets.stream(content)])
        yield archive.add(content.filename, data)
    yield archive.close()
