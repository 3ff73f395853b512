"""``Engine``: wires storage, catalog, keys, ledger and the capabilities from one ``Settings``."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

from engine.account_settings import AccountSettingsService
from engine.accounts import Accounts, open_accounts
from engine.admission import Admission
from engine.assets.links import AssetLinks
from engine.assets.service import AssetService
from engine.auth.keys import KeyService
from engine.auth.signing import UrlSigner
from engine.auth.signing_keys import LEGACY_FILE as LEGACY_KEYS_FILE, shared_keys
from engine.catalog import Catalog
from engine.brain import open_brain
from engine.documents.service import DocumentService
from engine.enrich.service import EnrichService
from engine.events import Event, EventBus, EventType
from engine.generation.service import GenerationService
from engine.imaging.service import ImagingService
from engine.ingest import IngestService
from engine.pipeline.saved import SavedPipelines
from engine.ingest.fetch import OutboundPolicy
from engine.jobs import Job, JobRunner, JobStatus
from engine.jobs.factory import open_jobs
from engine.library import Library
from engine.places import OfflineGeocoder
from engine.plans.service import Plans
from engine.previews.service import PreviewService
from engine.render.service import RenderService, thumbnail_params
from engine.scrape.service import ScrapeService
from engine.search.service import SearchService
from engine.settings import AuthMode, Settings
from engine.storage import BlobStore, open_blob_store
from engine.uploads.factory import Uploads, start_uploads
from engine.usage import UsageLedger
from engine.webhooks.service import WebhookService

log = logging.getLogger("picsha.engine")

WORK_DIR_PREFIX = "proc-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphaned_work_dirs(tmp_dir: Path) -> list[Path]:
    """Temporary files of processes that died (a crash mid-upload) are removed at start-up.

    Each engine stages into ``tmp/proc-<pid>-<n>``, so a CLI ingest running beside the server is untouched.
    """
    removed: list[Path] = []
    if not tmp_dir.exists():
        return removed
    for entry in tmp_dir.iterdir():
        name = entry.name
        pid = name.removeprefix(WORK_DIR_PREFIX).split("-", 1)[0]
        if entry.is_dir() and name.startswith(WORK_DIR_PREFIX) and pid.isdigit() and _pid_alive(int(pid)):
            continue
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


class Engine:
    """Use as ``async with Engine.open(settings) as engine:``.

    ``start`` is the one composition root: every service is built here, in dependency order, from finished
    parts; job kinds and event subscribers are declared here once. ``run_jobs`` decides whether this process
    also runs background jobs (``picsha serve`` and ``picsha mcp`` do by default, ``picsha worker`` only does
    that, a CLI command that only reads or queues does not).
    """

    store: BlobStore
    catalog: Catalog
    keys: KeyService
    accounts: Accounts
    ledger: UsageLedger
    assets: AssetService
    ingest: IngestService
    signer: UrlSigner
    links: AssetLinks
    render: RenderService
    previews: PreviewService
    uploads: Uploads
    owner_account_id: str
    jobs: JobRunner
    events: EventBus
    enrich: EnrichService
    search: SearchService
    webhooks: WebhookService
    imaging: ImagingService
    pipelines: SavedPipelines
    generation: GenerationService
    documents: DocumentService
    scrape: ScrapeService
    account_settings: AccountSettingsService
    plans: Plans
    library: Library

    def __init__(self, settings: Settings, *, run_jobs: bool | None = None, warm_up: bool | None = None):
        self.settings = settings
        self.run_jobs = settings.jobs.in_process if run_jobs is None else run_jobs
        # Models load in the background for engines that serve requests (``picsha serve``, ``picsha mcp``:
        # they leave ``run_jobs`` to the settings); one-shot commands and ``picsha worker`` pass
        # ``run_jobs=False``, answer no request, and load a model only when they use it.
        self.warm_up = (settings.enrich.warm_up and run_jobs is not False) if warm_up is None else warm_up
        self.geocoder = OfflineGeocoder()
        self.work_dir = settings.tmp_dir / f"{WORK_DIR_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._closers: list[Callable[[], Awaitable[object]]] = []
        self._workers: asyncio.Task[None] | None = None

    @classmethod
    def open(cls, settings: Settings | None = None, *, run_jobs: bool | None = None,
             warm_up: bool | None = None) -> "Engine":
        return cls(settings or Settings(), run_jobs=run_jobs, warm_up=warm_up)

    async def __aenter__(self) -> "Engine":
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        removed = remove_orphaned_work_dirs(settings.tmp_dir)
        if removed:
            log.info("removed %d orphaned temporary entries", len(removed))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._closers.append(lambda: asyncio.to_thread(shutil.rmtree, self.work_dir, ignore_errors=True))
        self.catalog = Catalog(settings.catalog_url(), echo=settings.catalog.echo)
        self._closers.append(self.catalog.close)
        await self.catalog.migrate()
        self.store = open_blob_store(settings, self.work_dir)
        self._closers.append(self.store.close)
        self.jobs = await open_jobs(self.catalog, settings.jobs)
        self._closers.append(self.jobs.close)
        self.events = EventBus(self.jobs)
        self.keys = KeyService(self.catalog, cache_ttl_s=settings.key_cache_ttl_s)
        self.admission = Admission(settings.admission)
        self._closers.append(self.keys.close)
        self.owner_account_id = await self.keys.owner_account()
        self.accounts = await open_accounts(
            self.catalog, self.keys, settings.accounts, owner_account_id=self.owner_account_id,
            key_cache_ttl_s=settings.key_cache_ttl_s, auth_on=settings.auth is AuthMode.ON)
        self.signer = await self._signer()
        self.links = AssetLinks(
            self.signer, settings.public_url, thumbnail_query=thumbnail_params(settings.ingest.thumbnail_px).to_query()
        )
        self.ledger = UsageLedger(self.catalog, settings.prices)
        self.account_settings = AccountSettingsService(
            self.catalog, analysis=settings.enrich.defaults, server_max_upload=settings.ingest.max_bytes,
            cache_ttl_s=settings.key_cache_ttl_s)
        self.plans = Plans(settings.limits, self.ledger, self.account_settings)
        self._closers.append(self.plans.close)
        self.assets = AssetService(self.catalog, self.store, self.ledger, self.links, self.events)
        self.render = RenderService(
            settings=settings.render, catalog=self.catalog, store=self.store, ledger=self.ledger, links=self.links,
            assets=self.assets,
            thumbnail_px=settings.ingest.thumbnail_px, pre_render_default=settings.enrich.defaults.pre_render_sizes,
        )
        self._closers.append(self.render.settle)  # new derivatives still being stored
        self.previews = PreviewService(settings=settings.previews, assets=self.assets, render=self.render, store=self.store)
        brain = await open_brain(settings, catalog=self.catalog, store=self.store, ledger=self.ledger,
                                 assets=self.assets, links=self.links, jobs=self.jobs, events=self.events,
                                 background_models=self.warm_up)
        self.enrich, self.search = brain.enrich, brain.search
        self._closers.append(brain.models.close)
        self._closers.append(self.enrich.close)
        self.documents = DocumentService(
            settings=settings.documents, catalog=self.catalog, store=self.store, ledger=self.ledger, render=self.render,
            analysis=self.enrich, jobs=self.jobs, work_dir=self.work_dir, limits=settings.ingest.archive_limits(),
        )
        self._closers.append(self.documents.close)
        self.enrich.job_kinds.add(self.documents.job_kind_name)  # a conversion job also runs the analyses
        self.ingest = IngestService(
            settings=settings.ingest, catalog=self.catalog, store=self.store, ledger=self.ledger,
            assets=self.assets, geocoder=self.geocoder, work_dir=self.work_dir, render=self.render,
            analysis=self.enrich, conversions=self.documents, plans=self.plans,
        )
        self.uploads = start_uploads(
            settings, catalog=self.catalog, store=self.store, ingest=self.ingest, assets=self.assets
        )
        self._closers.append(self.uploads.close)
        self.imaging = ImagingService(
            settings=settings.imaging, render=settings.render, pool=self.render.pool, store=self.store,
            assets=self.assets, ingest=self.ingest, ledger=self.ledger, work_dir=self.work_dir,
        )
        self.pipelines = SavedPipelines(self.catalog)
        self.library = Library(catalog=self.catalog, store=self.store, assets=self.assets, ingest=self.ingest,
                               events=self.events, links=self.links, signer=self.signer, jobs=self.jobs,
                               public_url=settings.public_url,
                               trash_keep_days=settings.trash.keep_days, blob_grace_s=settings.ingest.blob_grace_s)
        self.search.colours = self.library.similar.with_colour  # search's filters.color reads stored palettes
        self.imaging.new_version = self.library.versions.replace_bytes  # a tool's result saved onto its asset
        self.webhooks = WebhookService(catalog=self.catalog, jobs=self.jobs, settings=settings.webhooks,
                                       outbound=OutboundPolicy.of(settings.ingest))
        self.scrape = ScrapeService(settings=settings.scrape, ingest_settings=settings.ingest, catalog=self.catalog,
                                    jobs=self.jobs, ingest=self.ingest, assets=self.assets, enrich=self.enrich,
                                    work_dir=self.work_dir)
        self.generation = GenerationService(settings=settings.generate, ingest=self.ingest, ledger=self.ledger,
                                            jobs=self.jobs)
        self._closers.append(self.generation.close)
        self.jobs.declare([self.enrich.job_kind(), self.events.job_kind(), self.webhooks.job_kind(),
                           self.generation.job_kind(), self.documents.job_kind(), self.scrape.job_kind(),
                           *self.imaging.job_kinds(), *self.library.job_kinds()], on_finished=self._job_finished)
        self.events.route([self.render.subscriber(), self.enrich.subscriber(), self.enrich.gave_up_subscriber(),
                           self.webhooks.subscriber()])
        if self.run_jobs:
            self._workers = asyncio.create_task(self._serve_jobs(), name="picsha-jobs")
        if self.warm_up:
            # Last, and in the background: start-up (and MCP's initialize after it) never waits for a model.
            brain.models.warm_up()

    async def _serve_jobs(self) -> None:
        """This process's workers, and beside them the upkeep every process that runs jobs shares: each step
        is safe to run in many processes at once, so no process has to be the one that does it."""
        upkeep = asyncio.create_task(self._upkeep(), name="picsha-upkeep")
        try:
            await self.jobs.serve()  # returns once this process stops taking jobs and its last one ended
        finally:
            upkeep.cancel()
            await asyncio.gather(upkeep, return_exceptions=True)

    async def _upkeep(self) -> None:
        while True:
            await asyncio.sleep(self.settings.jobs.upkeep_interval_s)
            for name, step in (("purge finished jobs", self.jobs.purge), ("collect blobs", self.assets.blobs.collect_due),
                               ("start due scrape schedules", self.scrape.schedules.run_due),
                               ("purge expired trash", self.library.trash.purge_expired)):
                try:
                    await step()
                except Exception:  # the next round tries again
                    log.exception("upkeep: %s failed", name)

    async def _job_finished(self, job: Job) -> None:
        kind = EventType.JOB_COMPLETED if job.status is JobStatus.READY else EventType.JOB_FAILED
        data = {"job_id": job.id, "kind": job.kind, "status": job.status.value, "asset_id": job.asset_id,
                "error": job.error}
        await self.events.publish(Event(type=kind, account_id=job.account_id, data=data))

    async def _signer(self) -> UrlSigner:
        configured = self.settings.signing
        if configured.keys:
            keys = {kid: secret.get_secret_value().encode() for kid, secret in configured.keys.items()}
            return UrlSigner(keys, default_ttl_s=configured.url_ttl_s)
        keys = await shared_keys(self.catalog, legacy_file=self.settings.data_dir / LEGACY_KEYS_FILE)
        return UrlSigner(keys, default_ttl_s=configured.url_ttl_s)

    async def run_workers_until(self, stop: asyncio.Event, *, grace_s: float) -> None:
        """``picsha worker``: run jobs until ``stop``; then take no new ones, let running ones finish for up
        to ``grace_s`` and give the rest back to the queue."""
        serving = asyncio.create_task(self._serve_jobs(), name="picsha-jobs")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        self.jobs.accepting = False
        try:
            await asyncio.wait_for(asyncio.shield(serving), grace_s)
        except TimeoutError:
            serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        if serving.done() and not serving.cancelled() and serving.exception() is not None:
            raise serving.exception()  # type: ignore[misc]

    async def stop_jobs(self) -> None:
        """Stop this process's workers; a job cut short goes back to the queue for any worker."""
        if self._workers is not None:
            self._workers.cancel()
            await asyncio.gather(self._workers, return_exceptions=True)
            self._workers = None

    async def close(self) -> None:
        await self.stop_jobs()
        while self._closers:
            await self._closers.pop()()
