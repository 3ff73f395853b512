"""The derivative cache: one blob plus one ``derivatives`` row per (asset, normalised parameters).

Derivatives are blobs under ``derivatives/<asset id>/``; deleting the asset deletes the rows and blobs
(``AssetService._delete_many``). A row is written only after its blob exists, so a row always has bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.service import PDF_VIEW_KIND, THUMBNAIL_KIND
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.ids import IdPrefix, new_id
from engine.storage import BlobStore, derivatives_prefix

EXTENSIONS = {"jpeg": "jpg"}

Also = Callable[[AsyncConnection], Awaitable[None]]


class Kind:
    """What a derivative was made for (the ``kind`` column)."""

    THUMBNAIL = THUMBNAIL_KIND  # the ingest preview, linked as ``urls.thumbnail``
    RESPONSIVE = "responsive"  # a pre_render_sizes width made at ingest
    RENDER = "render"  # made on request
    PDF_VIEW = PDF_VIEW_KIND  # an office document's PDF rendition (engine.documents), linked as ``urls.pdf_view``


@dataclass
class Rendered:
    """Bytes a render produced, before they are stored."""

    params_hash: str
    kind: str
    data: bytes
    format: str
    content_type: str
    width: int
    height: int

    def blob_key(self, asset_id: str) -> str:
        return f"{derivatives_prefix(asset_id)}{self.params_hash}.{EXTENSIONS.get(self.format, self.format)}"


class BlobNotStored(Exception):
    """The derivative's bytes could not be written to the store (so no row and no usage row were written)."""


class DerivativeCache:
    def __init__(self, catalog: Catalog, store: BlobStore):
        self.catalog = catalog
        self.store = store

    async def find(self, asset_id: str, params_hash: str) -> sa.Row | None:
        d = tables.derivatives
        query = sa.select(d).where(d.c.asset_id == asset_id, d.c.params_hash == params_hash)
        return await self.catalog.lookup(lambda conn: conn.execute(query).first())

    async def store_blob(self, asset_id: str, account_id: str, rendered: Rendered) -> dict[str, object]:
        """Write the blob; return the row to insert (the caller inserts it, possibly in its own transaction)."""
        key = rendered.blob_key(asset_id)
        await self.store.put_bytes(key, rendered.data)
        return dict(
            id=new_id(IdPrefix.DERIVATIVE), asset_id=asset_id, account_id=account_id,
            params_hash=rendered.params_hash, kind=rendered.kind, blob_key=key, content_type=rendered.content_type,
            size=len(rendered.data), width=rendered.width, height=rendered.height, created_at=now(),
        )

    async def put(
        self, asset_id: str, account_id: str, rendered: Rendered, also: Also | None = None
    ) -> sa.Row:
        """Store a derivative (``also`` runs in the same transaction: its usage row); when another process
        stored the same one first, theirs is kept."""
        stored = (await self.put_many([(asset_id, account_id, rendered, also)]))[0]
        if isinstance(stored, Exception):
            raise stored
        return stored

    async def put_many(self, items: list[tuple[str, str, Rendered, Also | None]]) -> list[sa.Row | Exception]:
        """``put`` for several derivatives: their blobs written at once, their rows (and each one's ``also``)
        in one transaction, so renders that finish together take one turn of the catalog's writer. Each
        item's answer is its row or its error: ``BlobNotStored``, or ``LookupError`` when its asset was
        deleted meanwhile. Should the shared transaction fail, each row is written in one of its own."""
        written = await asyncio.gather(*(self.store_blob(asset_id, account_id, rendered)
                                         for asset_id, account_id, rendered, _also in items), return_exceptions=True)
        answers: dict[int, sa.Row | Exception] = {}
        rows: list[tuple[int, dict[str, object]]] = []
        for index, row in enumerate(written):
            if isinstance(row, BaseException) and not isinstance(row, Exception):
                raise row
            if isinstance(row, Exception):
                error = BlobNotStored(items[index][0])
                error.__cause__ = row
                answers[index] = error
            else:
                rows.append((index, row))
        try:
            await self._insert(rows, items)
        except IntegrityError:  # another process stored one of them first, or an asset went: each on its own
            for one in rows:
                try:
                    await self._insert([one], items)
                except IntegrityError:
                    pass  # same key, same bytes: the existing row stands
        for index, row in rows:
            asset_id, _account_id, rendered, _also = items[index]
            found = await self.find(asset_id, rendered.params_hash)
            if found is None:  # the asset was deleted meanwhile
                await self.store.delete(row["blob_key"])  # type: ignore[arg-type]
                answers[index] = LookupError(asset_id)
            else:
                answers[index] = found
        return [answers[index] for index in range(len(items))]

    async def _insert(self, rows: list[tuple[int, dict[str, object]]], items: list[tuple[str, str, Rendered, Also | None]]) -> None:
        if not rows:
            return
        async with self.catalog.begin() as conn:
            await conn.execute(tables.derivatives.insert(), [row for _index, row in rows])
            for index, _row in rows:
                also = items[index][3]
                if also is not None:
                    await also(conn)
