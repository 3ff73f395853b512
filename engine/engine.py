"""``Engine``: wires storage, catalog, keys, ledger and the capabilities from one ``Settings``."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType

from engine.assets.links import AssetLinks
from engine.assets.service import AssetService
from engine.auth.keys import KeyService
from engine.auth.signing import UrlSigner
from engine.catalog import Catalog
from engine.enrich.factory import start_brain
from engine.enrich.service import EnrichService
from engine.ingest import IngestService
from engine.jobs import JobRunner
from engine.places import OfflineGeocoder
from engine.previews.service import PreviewService
from engine.render.service import RenderService, thumbnail_params
from engine.search.service import SearchService
from engine.settings import Settings
from engine.storage import BlobStore, open_blob_store
from engine.uploads.factory import Uploads, start_uploads
from engine.usage import UsageLedger

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
    """Use as ``async with Engine.open(settings) as engine:``."""

    store: BlobStore
    catalog: Catalog
    keys: KeyService
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
    enrich: EnrichService
    search: SearchService

    def __init__(self, settings: Settings):
        self.settings = settings
        self.geocoder = OfflineGeocoder()
        self.work_dir = settings.tmp_dir / f"{WORK_DIR_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"

    @classmethod
    def open(cls, settings: Settings | None = None) -> "Engine":
        return cls(settings or Settings())

    async def __aenter__(self) -> "Engine":
        await self.start()
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
        self.store = open_blob_store(settings, self.work_dir)
        self.catalog = Catalog(settings.catalog_url(), echo=settings.catalog.echo)
        await self.catalog.migrate()
        self.keys = KeyService(self.catalog)
        self.owner_account_id = await self.keys.owner_account()
        self.signer = self._signer()
        self.links = AssetLinks(
            self.signer, settings.public_url, thumbnail_query=thumbnail_params(settings.ingest.thumbnail_px).to_query()
        )
        self.ledger = UsageLedger(self.catalog, settings.prices)
        self.assets = AssetService(self.catalog, self.store, self.ledger, self.links)
        self.render = RenderService(
            settings=settings.render, catalog=self.catalog, store=self.store, ledger=self.ledger, links=self.links,
            assets=self.assets,
            thumbnail_px=settings.ingest.thumbnail_px, pre_render_default=settings.enrich.defaults.pre_render_sizes,
        )
        self.previews = PreviewService(settings=settings.previews, assets=self.assets, render=self.render, store=self.store)
        self.ingest = IngestService(
            settings=settings.ingest, catalog=self.catalog, store=self.store, ledger=self.ledger,
            assets=self.assets, geocoder=self.geocoder, work_dir=self.work_dir, render=self.render,
        )
        brain = await start_brain(
            settings, catalog=self.catalog, store=self.store, ledger=self.ledger, assets=self.assets,
            ingest=self.ingest, links=self.links,
        )
        self.jobs, self.enrich, self.search = brain.jobs, brain.enrich, brain.search
        self.uploads = start_uploads(
            settings, catalog=self.catalog, store=self.store, ingest=self.ingest, assets=self.assets
        )

    def _signer(self) -> UrlSigner:
        configured = self.settings.signing
        if configured.keys:
            keys = {kid: secret.get_secret_value().encode() for kid, secret in configured.keys.items()}
            return UrlSigner(keys, default_ttl_s=configured.url_ttl_s)
        return UrlSigner.load_or_create(self.settings.data_dir / "signing-keys.json", default_ttl_s=configured.url_ttl_s)

    async def close(self) -> None:
        if hasattr(self, "render"):
            await self.render.settle()  # new derivatives still being stored
        if hasattr(self, "jobs"):
            await self.jobs.close()
            await self.enrich.close()
        if hasattr(self, "uploads"):
            await self.uploads.close()
        await self.store.close()
        await self.catalog.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)
