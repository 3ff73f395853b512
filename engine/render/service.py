"""``RenderService`` (``engine.render``): render an asset to the size and format asked, through the cache.

Public surface: ``render`` (one derivative, cached) and ``read`` (its bytes), ``signed_url`` (a render link
that needs no key), ``delivered`` (bandwidth usage of an answer sent whole), ``thumbnail_params`` /
``for_ingest`` (the previews made at upload, stored as ordinary derivatives), ``settle`` (wait for new
derivatives still being stored). ``pool.runs`` counts renders that reached libvips.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pyvips
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.links import AssetLinks
from engine.assets.service import PDF_VIEW_KIND, AssetService, Content, not_found
from engine.documents.formats import CONVERTED_FORMATS, TEXT_FORMATS
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.events import Event, EventType, Subscriber
from engine.errors import InvalidInput, NotFound, PicshaError
from engine.faces import FaceBox
from engine.render.cache import DerivativeCache, Kind, Rendered
from engine.render.context import Overlay, RenderContext, Source
from engine.render.deliveries import DeliveryLedger
from engine.render.filename import download_name
from engine.render.memo import HotBytes, Memo
from engine.render.models import RenderResult
from engine.render.negotiate import negotiate
from engine.render.params import Fit, Gravity, OutputFormat, RenderParams
from engine.render.pipeline import run
from engine.render.pool import RenderPool
from engine.render.settings import RenderSettings
from engine.render.steps.inspect_overlay import require_watermark_format
from engine.render.writer import DerivativeWriter, FreshRow
from engine.storage import BlobStore
from engine.usage import UsageKind, UsageLedger

log = logging.getLogger("picsha.render")

THUMBNAIL_QUALITY = 80


def thumbnail_params(size: int) -> RenderParams:
    """The ingest preview: a WebP inside a ``size`` square (the asset JSON links exactly these)."""
    return RenderParams(w=size, h=size, fit=Fit.INSIDE, format=OutputFormat.WEBP, q=THUMBNAIL_QUALITY)


def responsive_params(width: int) -> RenderParams:
    return RenderParams(w=width, format=OutputFormat.WEBP)


class RenderService:
    def __init__(
        self, *, settings: RenderSettings, catalog: Catalog, store: BlobStore, ledger: UsageLedger,
        links: AssetLinks, assets: AssetService, thumbnail_px: int, pre_render_default: bool,
    ):
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.ledger = ledger
        self.links = links
        self.thumbnail_px = thumbnail_px
        self.pre_render_default = pre_render_default
        self.pool = RenderPool(workers=settings.workers, queue=settings.queue, retry_after_s=settings.retry_after_s)
        self.cache = DerivativeCache(catalog, store)
        self.flights: dict[str, asyncio.Future[sa.Row | FreshRow]] = {}
        self.writer = DerivativeWriter(
            self.cache, largest_deferred=4 * 1024 * 1024, max_deferred_bytes=settings.deferred_max_mb * 1024 * 1024
        )
        self.memo = Memo(ttl_s=settings.memo_ttl_s, size=settings.memo_size)
        self.deliveries = DeliveryLedger(catalog, ledger)
        self.hot = HotBytes(budget_bytes=settings.hot_bytes_mb * 1024 * 1024, largest_bytes=512 * 1024)
        pyvips.cache_set_max_mem(settings.vips_cache_max_mb * 1024 * 1024)
        if settings.vips_concurrency:
            pyvips.concurrency_set(settings.vips_concurrency)

    def cache_key(self, params: RenderParams, fmt: str) -> str:
        """The derivative key of ``params`` rendered to ``fmt`` with this service's encoder settings."""
        return params.cache_key(fmt, self.settings.signature(fmt))

    # -- links ---------------------------------------------------------------------------------

    def signed_url(self, asset_id: str, params: RenderParams, *, ttl_s: int | None = None) -> str:
        """An absolute render URL signed over its path and normalised query; it works without a key."""
        return self.links.render(asset_id, params.to_query(), ttl_s=ttl_s)

    def thumbnail_params(self) -> RenderParams:
        return thumbnail_params(self.thumbnail_px)

    async def signed_urls(
        self, principal: Principal, asset_ids: Sequence[str], params: RenderParams, *, ttl_s: int | None = None
    ) -> dict[str, str]:
        """Signed render links of the caller's assets among ``asset_ids`` (others are left out), in one query:
        a page showing many images needs links, as an ``img`` element sends no Authorization header."""
        a = tables.assets
        query = sa.select(a.c.id).where(a.c.id.in_(list(asset_ids)), a.c.account_id == principal.account_id)
        owned = set(await self.catalog.read(lambda conn: conn.scalars(query).all()))
        return {asset_id: self.signed_url(asset_id, params, ttl_s=ttl_s) for asset_id in asset_ids if asset_id in owned}

    # -- rendering -----------------------------------------------------------------------------

    async def render(
        self, asset_id: str, params: RenderParams, *, principal: Principal | None, accept: str | None,
        wait_for_store: bool = True,
    ) -> RenderResult:
        """The derivative for these parameters: from the cache, or rendered once (concurrent callers wait).

        ``principal=None`` means the caller already verified a signed URL for this asset. On return the
        derivative's blob is in the store, unless ``wait_for_store=False``: then a new one may still be on
        its way there and its bytes must be read with ``read(result)`` (the REST route answers sooner so).
        """
        result = self.remembered(asset_id, params, principal=principal, accept=accept)
        if result is None:
            asset = await self._remembered_asset(asset_id, principal.account_id if principal else None)
            fmt = negotiate(params.format, accept, asset.format)
            key = self.cache_key(params, fmt)
            row = self._known(asset_id, key) or await self.cache.find(asset_id, key) or self._known(asset_id, key)
            cached = row is not None
            if row is None:
                row, cached = await self._single_flight(asset, params, fmt, key)
            if isinstance(row, sa.Row):
                self.memo.put(asset_id, key, row)
            result = self._result(asset, row, params, cached=cached)
        if wait_for_store:
            await self.stored(result)
        return result

    def remembered(
        self, asset_id: str, params: RenderParams, *, principal: Principal | None, accept: str | None
    ) -> RenderResult | None:
        """A render this process found or made moments ago, from memory alone (nothing awaited), else None.

        The REST route answers such a hit in its own task: a render that may wait for a slot runs in a task
        of its own, and a hit sent there would wait behind every callback queued on the event loop.
        """
        asset = self.memo.get(asset_id, "")
        if asset is None or (principal is not None and asset.account_id != principal.account_id):
            return None
        key = self.cache_key(params, negotiate(params.format, accept, asset.format))
        row = self._known(asset_id, key)
        if row is None:
            return None
        if isinstance(row, sa.Row):
            self.memo.put(asset_id, key, row)
        return self._result(asset, row, params, cached=True)

    async def _single_flight(
        self, asset: sa.Row, params: RenderParams, fmt: str, key: str
    ) -> tuple[sa.Row | FreshRow, bool]:
        """The first caller renders; identical calls arriving meanwhile wait for its result.

        No await separates the caller's last cache check from registering its flight, so two identical
        requests in this process never both render (across processes the unique key keeps one row).
        """
        flight_key = f"{asset.id}/{key}"
        flight = self.flights.get(flight_key)
        if flight is not None:
            try:
                return await asyncio.shield(flight), True
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not flight.cancelled() or (task is not None and task.cancelling()):
                    raise
                return await self._single_flight(asset, params, fmt, key)  # the renderer gave up; take over
        flight = asyncio.get_running_loop().create_future()
        self.flights[flight_key] = flight
        try:
            # faces stored by a recent analysis count: re-read the row when they matter
            source = await self._asset(asset.id, None) if params.gravity is Gravity.FACE else asset
            row = await self._render_and_store(source, params, fmt, key)
            flight.set_result(row)
            return row, False
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except Exception as error:
            flight.set_exception(error)
            flight.exception()  # the waiters (if any) re-raise it; nobody else needs to see it logged
            raise
        finally:
            del self.flights[flight_key]

    def _known(self, asset_id: str, key: str) -> Any:
        return self.memo.get(asset_id, key) or self.writer.row(asset_id, key)

    async def settle(self) -> None:
        """Wait for derivatives still being stored (served from memory meanwhile) and pending usage rows."""
        await self.writer.settle()
        await self.deliveries.settle()

    async def stored(self, result: RenderResult) -> None:
        """Wait until this result's blob is in the store (before streaming a range of it)."""
        await self.writer.wait(result.content.blob_key)

    async def read(self, result: RenderResult) -> bytes:
        """The derivative's bytes (for small answers sent whole); ``delivered`` accounts for them."""
        key = result.content.blob_key
        data = self.hot.get(key, result.derivative_id) or self.writer.data(result.content.asset_id, result.content.sha256)
        if data is None:
            data = await self.store.read_bytes(key)
            if result.derivative_id is not None:
                self.hot.put(key, result.derivative_id, data)
        return data

    async def delivered(self, result: RenderResult) -> None:
        """Account the bytes of an answer sent whole (``AssetService.stream`` does it for streamed ones):
        one usage row per answer, written with others in one transaction moments later."""
        self.deliveries.add(result.content.account_id, result.content.asset_id, result.content.size)

    def subscriber(self) -> Subscriber:
        """Remembered rows of an edited, trashed or deleted asset are dropped at once; hot bytes of a trashed
        or deleted one too. An edit keeps them: they are served only for the derivative row they were read
        for, and an edit that changes the pixels makes new rows (an analysis that adds tags changes none)."""
        kinds = frozenset({EventType.ASSET_UPDATED, EventType.ASSET_DELETED, EventType.ASSET_TRASHED})
        return Subscriber("render-memo", kinds, self._forget)

    async def _forget(self, events: list[Event]) -> None:
        self.memo.forget([event.data["asset_id"] for event in events])
        self.hot.forget([event.data["asset_id"] for event in events if event.type is not EventType.ASSET_UPDATED])

    async def _remembered_asset(self, asset_id: str, account_id: str | None) -> sa.Row:
        asset = self.memo.get(asset_id, "")
        if asset is None:
            asset = await self._asset(asset_id, None)
            self.memo.put(asset_id, "", asset)
        if account_id is not None and asset.account_id != account_id:
            raise not_found(asset_id)
        return asset

    async def _render_and_store(self, asset: sa.Row, params: RenderParams, fmt: str, key: str) -> sa.Row | FreshRow:
        async with AsyncExitStack() as stack:
            source = await self._source(stack, asset, params)
            ctx = RenderContext(
                params=params, source=source, settings=self.settings, output_format=fmt,
                deadline=time.monotonic() + self.settings.timeout_s,
            )
            await self.pool.run(lambda: _run(ctx))
        rendered = _rendered(ctx, key, Kind.RENDER)

        async def bill(conn: AsyncConnection) -> None:  # in the derivative row's transaction
            await self.ledger.record(
                account_id=asset.account_id, asset_id=asset.id, kind=UsageKind.RENDER, quantity=1, conn=conn,
                detail={"format": rendered.format, "width": rendered.width, "height": rendered.height},
            )

        def remember(row: sa.Row, data: bytes) -> None:
            self.memo.put(asset.id, key, row)
            self.hot.put(row.blob_key, row.id, data)

        try:
            return await self.writer.store(asset.id, asset.account_id, rendered, remember, also=bill)
        except LookupError:
            raise not_found(asset.id) from None

    async def _asset(self, asset_id: str, account_id: str | None) -> sa.Row:
        a = tables.assets
        # a trashed asset renders for no one (its derivatives stay until it is purged or restored)
        where = [a.c.id == asset_id, a.c.trashed_at.is_(None)] + ([a.c.account_id == account_id] if account_id else [])
        query = sa.select(a.c.id, a.c.account_id, a.c.format, a.c.blob_key, a.c.filename, a.c.ai, a.c.type)
        query = query.where(*where)
        row = await self.catalog.lookup(lambda conn: conn.execute(query).first())
        if row is None:
            raise not_found(asset_id)
        return row

    async def _source(self, stack: AsyncExitStack, asset: sa.Row, params: RenderParams) -> Source:
        blob_key, fmt = asset.blob_key, asset.format
        view = await self.cache.find(asset.id, PDF_VIEW_KIND) if fmt in CONVERTED_FORMATS else None
        if fmt in CONVERTED_FORMATS and (view is not None or fmt not in TEXT_FORMATS):
            # an office or text document renders through its PDF view, exactly as a PDF; text without one (its
            # conversion off or not run) is refused below as unrenderable, as before there were PDF views
            if view is None:
                raise PicshaError(
                    f"Asset {asset.id!r} has no PDF view yet: it renders once its conversion finished (its job, "
                    "or the asset's analysis, says whether it failed).", code="render_pdf_view_missing", status=409,
                )
            blob_key, fmt = view.blob_key, "pdf"
        path = await stack.enter_async_context(self.store.local_path(blob_key))
        overlay = None
        if params.watermark_asset:
            try:
                mark = await self._asset(params.watermark_asset, asset.account_id)
            except NotFound:
                raise InvalidInput(
                    f"watermark_asset {params.watermark_asset!r} is not an asset of this account.",
                    code="render_param_invalid", param="watermark_asset", valid="an image asset id in the same account",
                ) from None
            require_watermark_format(mark.format, mark.id)  # before its bytes are fetched
            overlay = Overlay(path=await stack.enter_async_context(self.store.local_path(mark.blob_key)), format=mark.format)
        return Source(path=path, format=fmt, faces=_stored_faces(asset.ai), overlay=overlay)

    def _result(self, asset: sa.Row, row: sa.Row | FreshRow, params: RenderParams, *, cached: bool) -> RenderResult:
        fmt = row.content_type.removeprefix("image/")
        content = Content(
            asset_id=asset.id, account_id=asset.account_id, blob_key=row.blob_key, size=row.size,
            content_type=row.content_type, filename=download_name(asset.filename, fmt), sha256=row.params_hash,
        )
        return RenderResult(
            content=content, format=fmt, width=row.width, height=row.height, download_name=content.filename,
            cached=cached, negotiated=params.format is OutputFormat.AUTO,
            derivative_id=row.id if isinstance(row, sa.Row) else None,
        )

    # -- ingest --------------------------------------------------------------------------------

    def wants_pre_render(self, flag: bool | None) -> bool:
        return self.pre_render_default if flag is None else flag

    async def for_ingest(
        self, path: Path, fmt: str, *, width: int | None, pre_render: bool | None, thumbnail_effort: int | None = None
    ) -> list[Rendered]:
        """The thumbnail (and, when asked, the responsive widths narrower than the source) for a new upload.

        Made by the same pipeline and keyed like on-request renders, so a later request is a cache hit.
        A source that cannot be previewed gets none; the upload itself still succeeds.
        """
        return await self.pool.run(lambda: self.previews(path, fmt, width=width, pre_render=pre_render,
                                                         thumbnail_effort=thumbnail_effort), wait=True)

    def previews(self, path: Path, fmt: str, *, width: int | None, pre_render: bool | None,
                 thumbnail_effort: int | None = None) -> list[Rendered]:
        """``for_ingest``'s work in the calling thread (a render pool's worker), all previews of one file in
        one turn: for a caller that does more of a file's work in the same turn (ingest's sniff and probe).
        ``thumbnail_effort``: the WebP effort of the thumbnail alone (the same pixels, quality and key); None:
        the render encoder's, so the thumbnail is byte for byte what a request for its link would render."""
        wanted = [(Kind.THUMBNAIL, self.thumbnail_params())]
        if self.wants_pre_render(pre_render):
            widths = [w for w in self.settings.pre_render_widths if width is None or w < width]
            wanted += [(Kind.RESPONSIVE, responsive_params(w)) for w in widths]
        made = []
        for kind, params in wanted:
            fmt_out = params.format.value
            ctx = RenderContext(
                params=params, source=Source(path=path, format=fmt), settings=self.settings, output_format=fmt_out,
                deadline=time.monotonic() + self.settings.timeout_s,
            )
            if thumbnail_effort is not None and kind == Kind.THUMBNAIL and fmt_out == "webp":
                ctx.settings = self.settings.model_copy(update={"webp_effort": thumbnail_effort})
            try:
                _run(ctx)
            except (PicshaError, pyvips.Error) as error:
                log.info("no %s for a %s upload: %s", kind, fmt, error)
                break
            made.append(_rendered(ctx, self.cache_key(params, fmt_out), kind))
        return made


def _run(ctx: RenderContext) -> RenderContext:
    try:
        return run(ctx)
    except pyvips.Error as error:
        raise PicshaError(
            "The image could not be decoded; it may be damaged.", code="render_decode_failed", status=422,
            detail=str(error).splitlines()[0][:200],
        ) from error


def _rendered(ctx: RenderContext, key: str, kind: str) -> Rendered:
    width, height = ctx.frame_size
    return Rendered(
        params_hash=key, kind=kind, data=ctx.data, format=ctx.output_format, content_type=ctx.content_type,
        width=width, height=height,
    )


def _stored_faces(ai: dict[str, Any] | None) -> list[FaceBox] | None:
    """Faces the analysis stored (``ai.faces.boxes``); None when no analysis has looked for faces."""
    faces = (ai or {}).get("faces")
    if not isinstance(faces, dict) or "boxes" not in faces:
        return None
    boxes = []
    for box in faces.get("boxes") or []:
        try:
            boxes.append(FaceBox.model_validate(box))
        except ValueError:
            continue
    return boxes
