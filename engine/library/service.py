"""``Library``: the media library's parts over the asset catalog, held by the engine as ``engine.library``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa

from engine.assets.links import AssetLinks
from engine.assets.models import AssetPage, ListQuery
from engine.assets.service import LIVE, AssetService
from engine.auth.keys import Principal
from engine.auth.signing import UrlSigner
from engine.catalog import Catalog, tables
from engine.events import EventBus
from engine.ingest import IngestService
from engine.jobs import JobKind, JobRunner
from engine.library.bulk import Bulk
from engine.library.collections import Collections
from engine.library.download import zip_of
from engine.library.folders import Folders
from engine.library.models import ROOT, LibraryFilter
from engine.library.shares import Shares
from engine.library.similar import Similar
from engine.library.tags import Tags
from engine.library.trash import Trash
from engine.library.versions import Versions
from engine.storage import BlobStore


class Library:
    def __init__(self, *, catalog: Catalog, store: BlobStore, assets: AssetService, ingest: IngestService,
                 events: EventBus, links: AssetLinks, signer: UrlSigner, jobs: JobRunner, public_url: str,
                 trash_keep_days: int, blob_grace_s: float):
        self.catalog = catalog
        self.assets = assets
        self.folders = Folders(catalog, events)
        self.collections = Collections(catalog)
        self.tags = Tags(catalog, assets, events)
        self.trash = Trash(catalog, assets, events, keep_days=trash_keep_days)
        self.similar = Similar(catalog, links)
        self.bulk = Bulk(self, jobs)
        self.shares = Shares(catalog=catalog, assets=assets, collections=self.collections, signer=signer,
                             links=links, public_url=public_url)
        self.versions = Versions(catalog=catalog, store=store, assets=assets, ingest=ingest, events=events,
                                 grace_s=blob_grace_s)

    def job_kinds(self) -> list[JobKind]:
        return [self.bulk.job_kind()]

    def download(self, principal: Principal, asset_ids: Sequence[str]) -> AsyncIterator[bytes]:
        """A ZIP of the caller's live assets among ``asset_ids``, streamed."""
        return zip_of(self.assets, principal, asset_ids)

    async def list(self, principal: Principal, query: ListQuery, given: LibraryFilter) -> AssetPage:
        """A page of live assets narrowed by folder, collection and palette colour (``q`` matches words of the
        filename, description and alt text here; the hybrid search has no folders)."""
        return await self.assets.list(principal, query, narrowed=await self.narrowing(principal, given))

    async def narrowing(self, principal: Principal, given: LibraryFilter) -> list[Any]:
        a, m = tables.assets, tables.collection_assets
        where: list[Any] = [LIVE]
        if given.folder_id == ROOT:
            where.append(a.c.folder_id.is_(None))
        elif given.folder_id:
            where.append(a.c.folder_id == given.folder_id)
        if given.collection_id:
            where.append(a.c.id.in_(sa.select(m.c.asset_id).where(m.c.collection_id == given.collection_id)))
        if given.color:
            ids = await self.similar.with_colour(principal.account_id, given.color, given.color_distance)
            where.append(a.c.id.in_(ids))
        return where
