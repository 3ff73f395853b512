"""Enrichment and search built over one index and one model store: the part of the composition root that
wires the two capabilities (neither imports the other's service), called once from ``Engine.start``."""

from __future__ import annotations

from dataclasses import dataclass

from engine.assets.links import AssetLinks
from engine.assets.service import AssetService
from engine.catalog import Catalog
from engine.enrich.claude import ClaudeWriter
from engine.enrich.model_store import ModelStore
from engine.enrich.service import EnrichService
from engine.enrich.steps import anthropic_key
from engine.events import EventBus
from engine.jobs import JobRunner
from engine.places.google import GoogleGeocoder
from engine.search.index import SearchIndex
from engine.search.object_store import index_storage_options
from engine.search.refine import ClaudeRefiner
from engine.search.service import SearchService
from engine.settings import Settings
from engine.storage import BlobStore
from engine.usage import UsageLedger


@dataclass
class Brain:
    enrich: EnrichService
    search: SearchService
    models: ModelStore


async def open_brain(settings: Settings, *, catalog: Catalog, store: BlobStore, ledger: UsageLedger,
                     assets: AssetService, links: AssetLinks, jobs: JobRunner, events: EventBus,
                     background_models: bool = False) -> Brain:
    """Enrichment and search over one index and one model store (``background_models``: see ModelStore)."""
    uri = settings.search.uri or str(settings.data_dir / "index")
    index = await SearchIndex.open(
        uri, settings.search.table,
        clip_dim=settings.enrich.clip.dim, vector_index_threshold=settings.search.vector_index_threshold,
        search_ef=settings.search.vector_search_ef,
        storage_options=index_storage_options(uri, settings.search, settings.storage),
        read_consistency_s=settings.search.read_consistency_s, settings=settings.search,
    )
    models = ModelStore(settings.enrich.clip, background=background_models)
    key = anthropic_key(settings.enrich)
    writer = ClaudeWriter(settings.enrich.claude, key) if key else None
    maps = settings.enrich.google_maps
    geocoder = GoogleGeocoder(maps) if maps.api_key and maps.api_key.get_secret_value() else None
    enrich = EnrichService(settings=settings.enrich, catalog=catalog, store=store, ledger=ledger, jobs=jobs,
                           events=events, index=index, models=models, assets=assets, writer=writer, geocoder=geocoder,
                           archive_limits=settings.ingest.archive_limits())
    index.on_upgrade = enrich.refresh_taken  # an index table from an older version gets the catalog's taken times
    search = SearchService(index=index, settings=settings.search, models=models, links=links, catalog=catalog,
                           assets=assets, refiner=ClaudeRefiner(writer, ledger) if writer else None)
    return Brain(enrich=enrich, search=search, models=models)
