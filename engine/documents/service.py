"""``DocumentService``: office files get a PDF view (a derivative, made once by the warm LibreOffice pool in
a job), and through it a thumbnail, renders and, for formats whose words only LibreOffice reads, text.

The ``document`` job runs ``pdf_view`` then ``previews``, then the upload's analyses (the enrichment steps,
in the same job, with the document's words). A conversion that fails or times out is a failed step: the
asset stays ready (original and text), and its ``analysis.failed`` names the reason.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Protocol

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.models import WORDS_KEY
from engine.assets.service import PDF_VIEW_KIND, Content, not_found
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.documents.formats import CONVERTED_FORMATS, LEGACY_FORMATS, ODF_FORMATS, OOXML_FORMATS
from engine.documents.pool import ConversionFailed, OfficePool, OfficeUnavailable
from engine.documents.settings import DocumentSettings
from engine.documents.text import extract_text
from engine.errors import InvalidInput, NotFound, PicshaError
from engine.jobs import JobContext, JobKind, JobPolicy, JobRunner
from engine.media.archive import ArchiveLimits, open_archive
from engine.media.pdf import UnreadablePdf, open_pdf
from engine.render.cache import Rendered
from engine.render.service import RenderService
from engine.storage import BlobStore
from engine.usage import UsageKind, UsageLedger

log = logging.getLogger("picsha.documents")

JOB_KIND = "document"
CONVERSION_STEPS = ("pdf_view", "previews")  # their failure leaves the asset usable
TEXT_LIMIT = 200_000
# Conversions are retried by the pool (a fresh instance); a job cut short by a crash is safe to run again.
JOB_POLICY = JobPolicy(attempts=2, backoff_s=5.0, time_limit_s=1800.0, idempotent=True)


class Analysis(Protocol):
    """The enrichment the job hands over to once the PDF view exists (``EnrichService``)."""

    async def handle(self, job: JobContext, *, text: str | None = None,
                     tolerated: tuple[str, ...] = ()) -> dict[str, Any] | None: ...

    async def index_now(self, account_id: str, asset_id: str, *, embed: bool = False) -> None: ...


def conversion_error(error: ConversionFailed) -> PicshaError:
    return PicshaError(f"{error.code}: {error}", code=error.code, status=422)


class DocumentService:
    def __init__(self, *, settings: DocumentSettings, catalog: Catalog, store: BlobStore, ledger: UsageLedger,
                 render: RenderService, analysis: Analysis, jobs: JobRunner, work_dir: Path, limits: ArchiveLimits):
        self.settings = settings
        self.ledger = ledger
        self.catalog = catalog
        self.store = store
        self.render = render
        self.analysis = analysis
        self.jobs = jobs
        self.limits = limits
        self.work_dir = work_dir
        self.pool = OfficePool(settings, work_dir)

    async def close(self) -> None:
        await self.pool.close()

    def job_kind(self) -> JobKind:
        return JobKind(JOB_KIND, self.handle, JOB_POLICY)

    # -- the ingest hook ---------------------------------------------------------------------------

    job_kind_name = JOB_KIND  # ingest writes the asset's job with this kind when ``converts``

    def converts(self, fmt: str) -> bool:
        return self.settings.convert and fmt in CONVERTED_FORMATS

    async def submit(self, job_id: str) -> None:
        """Start a conversion job written by ingest (one with analyses starts with them)."""
        await self.jobs.submit(job_id)

    # -- the job -----------------------------------------------------------------------------------

    async def handle(self, job: JobContext) -> dict[str, Any] | None:
        if job.asset_id is None:
            raise InvalidInput("A document job needs an asset.", code="job_invalid")
        asset = await self._asset(job.account_id, job.asset_id)
        text: list[str | None] = [None]

        async def pdf_view() -> str | None:
            try:
                text[0] = await self._convert(asset)
            except OfficeUnavailable as error:  # this machine cannot convert: nothing failed, nothing made
                return str(error)
            return None

        async def previews() -> str | None:
            return await self._previews(asset)

        await job.report(progress=5, message="converting to PDF")
        if await job.run_step("pdf_view", pdf_view):
            await job.run_step("previews", previews)
        if job.payload.get("skills"):  # the analyses, in this job, with the words the PDF view gave
            return await self.analysis.handle(job, text=text[0], tolerated=CONVERSION_STEPS)
        words = text[0] if text[0] is not None else await self._own_words(asset)
        await self._record_outcome(asset, job, words)
        await self.analysis.index_now(asset.account_id, asset.id)  # its words and thumbnail are findable now
        return {"asset_id": asset.id, "pdf_view": not job.failed_step}

    async def _convert(self, asset: sa.Row) -> str | None:
        """Make and store the PDF view; the words of formats only LibreOffice reads (doc, xls, ppt) come back."""
        made = await self.render.cache.find(asset.id, PDF_VIEW_KIND)
        if made is not None:  # a job run again after a crash: the view is stored once
            async with self.store.local_path(made.blob_key) as pdf:
                words = (await anyio.to_thread.run_sync(_read_pdf, pdf))[3]
            return words if asset.format in LEGACY_FORMATS else None
        async with self.store.local_path(asset.blob_key) as original:
            if asset.format in OOXML_FORMATS + ODF_FORMATS:  # ZIP packages: their directory again
                await anyio.to_thread.run_sync(self._check_archive, original)
            with tempfile.TemporaryDirectory(dir=self.work_dir) as folder:
                # LibreOffice picks its import filter by extension as well as by content
                source = Path(folder) / f"source.{asset.format}"
                source.symlink_to(original)
                pdf = Path(folder) / "view.pdf"
                try:
                    await self.pool.convert(source, pdf)
                except OfficeUnavailable:
                    raise
                except ConversionFailed as error:
                    raise conversion_error(error) from error
                pages, width, height, words = await anyio.to_thread.run_sync(_read_pdf, pdf)
                rendered = Rendered(params_hash=PDF_VIEW_KIND, kind=PDF_VIEW_KIND, data=pdf.read_bytes(),
                                    format="pdf", content_type="application/pdf", width=width, height=height)
        async def bill(conn: AsyncConnection) -> None:  # a conversion is a render, in the derivative's transaction
            await self.ledger.record(account_id=asset.account_id, asset_id=asset.id, kind=UsageKind.RENDER, quantity=1,
                                     conn=conn, detail={"format": "pdf", "source": asset.format, "pages": pages})

        try:
            await self.render.cache.put(asset.id, asset.account_id, rendered, also=bill)
        except LookupError:
            raise not_found(asset.id) from None
        await self._describe(asset, pages, width, height)
        return words if asset.format in LEGACY_FORMATS else None

    def _check_archive(self, path: Path) -> None:
        with open_archive(path, self.limits):
            pass

    async def _describe(self, asset: sa.Row, pages: int, width: int, height: int) -> None:
        """The page count and first page size of the PDF view go to ``meta`` (as a PDF's do)."""
        a = tables.assets
        exif = dict(asset.exif or {}) | {"pages": pages}
        async with self.catalog.begin() as conn:
            await conn.execute(a.update().where(a.c.id == asset.id, a.c.account_id == asset.account_id).values(
                exif=exif, width=asset.width or width, height=asset.height or height, updated_at=now()))

    async def _previews(self, asset: sa.Row) -> str | None:
        view = await self.render.cache.find(asset.id, PDF_VIEW_KIND)
        if view is None:
            return "no PDF view"
        pre_render = (asset.config or {}).get("pre_render_sizes")
        async with self.store.local_path(view.blob_key) as pdf:
            made = await self.render.for_ingest(pdf, "pdf", width=view.width, pre_render=pre_render)
        if not made:
            raise PicshaError("The PDF view could not be rendered.", code="render_decode_failed", status=422)
        for rendered in made:
            await self.render.cache.put(asset.id, asset.account_id, rendered)
        return None

    async def _own_words(self, asset: sa.Row) -> str | None:
        try:
            async with self.store.local_path(asset.blob_key) as path:
                return await anyio.to_thread.run_sync(
                    lambda: extract_text(path, asset.format, limits=self.limits, limit=TEXT_LIMIT))
        except Exception as error:  # the words are a bonus here; the conversion's outcome is what is recorded
            log.warning("no words from %s: %s", asset.id, error)
            return None

    async def _record_outcome(self, asset: sa.Row, job: JobContext, words: str | None) -> None:
        """Without analyses to run, the conversion's outcome still lands in the asset's ``analysis``, and the
        document's words where the search index reads them."""
        from engine.enrich.service import with_outcome
        from engine.enrich.steps import WORDS_MAX_CHARS

        a = tables.assets
        mine = [a.c.id == asset.id, a.c.account_id == asset.account_id]
        async with self.catalog.begin() as conn:
            ai = with_outcome(await conn.scalar(sa.select(a.c.ai).where(*mine)) or {}, job.steps)
            if words and words.strip():
                ai[WORDS_KEY] = words.strip()[:WORDS_MAX_CHARS]
            await conn.execute(a.update().where(*mine).values(ai=ai, updated_at=now()))

    async def _asset(self, account_id: str, asset_id: str) -> sa.Row:
        a = tables.assets
        query = sa.select(a.c.id, a.c.account_id, a.c.format, a.c.blob_key, a.c.filename, a.c.exif, a.c.width,
                          a.c.height, a.c.config, a.c.is_public).where(a.c.id == asset_id, a.c.account_id == account_id)
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise not_found(asset_id)
        return row

    # -- reading -----------------------------------------------------------------------------------

    async def pdf_view(self, asset_id: str, principal: Principal | None) -> Content:
        """The PDF view's bytes to deliver; ``principal=None`` only after a signed URL was verified."""
        a, d = tables.assets, tables.derivatives
        where = [a.c.id == asset_id, a.c.trashed_at.is_(None)] + (
            [a.c.account_id == principal.account_id] if principal else [])
        query = (sa.select(a.c.id, a.c.account_id, a.c.filename, a.c.is_public, d.c.blob_key, d.c.size, d.c.id.label("did"))
                 .select_from(a.outerjoin(d, sa.and_(d.c.asset_id == a.c.id, d.c.kind == PDF_VIEW_KIND))).where(*where))
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise not_found(asset_id)
        if row.blob_key is None:
            raise NotFound(f"Asset {asset_id!r} has no PDF view: only office documents get one, once converted "
                           "(see the asset's analysis).", code="asset_pdf_view_missing", id=asset_id)
        stem = row.filename.rsplit(".", 1)[0] or "document"
        return Content(asset_id=row.id, account_id=row.account_id, blob_key=row.blob_key, size=row.size,
                       content_type="application/pdf", filename=f"{stem}.pdf", sha256=row.did,
                       is_public=row.is_public)


def _read_pdf(path: Path) -> tuple[int, int, int, str]:
    """Page count, first page size in points and the text of the PDF view."""
    try:
        with open_pdf(path) as document:
            pages = len(document)
            width, height = document.get_page_size(0) if pages else (1, 1)
            texts: list[str] = []
            for index in range(pages):
                texts.append(document[index].get_textpage().get_text_range())
                if sum(len(t) for t in texts) > TEXT_LIMIT:
                    break
    except UnreadablePdf as error:
        raise PicshaError(f"LibreOffice wrote an unreadable PDF: {error}", code="document_conversion_failed",
                          status=422) from error
    return pages, max(1, round(width)), max(1, round(height)), "\n".join(texts)[:TEXT_LIMIT]

