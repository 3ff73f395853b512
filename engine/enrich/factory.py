"""Wiring the job runner, enrichment and search into a started engine (one call from ``Engine.start``)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.assets.links import AssetLinks
from engine.assets.service import AssetService
from engine.catalog import Catalog
from engine.enrich.claude import ClaudeWriter
from engine.enrich.model_store import ModelStore
from engine.enrich.service import EnrichService
from engine.enrich.steps import anthropic_key
from engine.ingest import IngestService
from engine.jobs import JobRunner
from engine.places.google import GoogleGeocoder
from engine.search.index import SearchIndex
from engine.search.refine import ClaudeRefiner
from engine.search.service import SearchService
from engine.settings import Settings
from engine.storage import BlobStore
from engine.usage import UsageLedger


@dataclass
class Brain:
    jobs: JobRunner
    enrich: EnrichService
    search: SearchService


async def start_brain(settings: Settings, *, catalog: Catalog, store: BlobStore, ledger: UsageLedger,
                      assets: AssetService, ingest: IngestService, links: AssetLinks) -> Brain:
    jobs = JobRunner(catalog, settings.jobs)
    index = await SearchIndex.open(
        settings.search.uri or str(settings.data_dir / "index"), settings.search.table,
        clip_dim=settings.enrich.clip.dim, vector_index_threshold=settings.search.vector_index_threshold,
        search_ef=settings.search.vector_search_ef,
    )
    models = ModelStore(settings.enrich.clip)
    key = anthropic_key(settings.enrich)
    writer = ClaudeWriter(settings.enrich.claude, key) if key else None
    maps = settings.enrich.google_maps
    geocoder = GoogleGeocoder(maps) if maps.api_key and maps.api_key.get_secret_value() else None
    enrich = EnrichService(settings=settings.enrich, catalog=catalog, store=store, ledger=ledger, jobs=jobs,
                           index=index, models=models, assets=assets, writer=writer, geocoder=geocoder)
    search = SearchService(index=index, settings=settings.search, models=models, links=links, catalog=catalog,
                           assets=assets, refiner=ClaudeRefiner(writer, ledger) if writer else None)
    ingest.analysis = enrich
    assets.on_delete.append(enrich.forget)
    assets.on_change.append(enrich.edited)
    await jobs.start()
    return Brain(jobs=jobs, enrich=enrich, search=search)
