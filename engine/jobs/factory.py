"""Build the job runner for the configured backend."""

from __future__ import annotations

from engine.catalog import Catalog
from engine.jobs.embedded import EmbeddedDispatcher
from engine.jobs.runner import Dispatcher, JobRunner
from engine.jobs.settings import JobBackend, JobSettings
from engine.jobs.signals import JobSignals


async def open_jobs(catalog: Catalog, settings: JobSettings) -> JobRunner:
    signals = JobSignals(catalog, poll_s=min(settings.poll_max_s, 0.25))
    await signals.start()
    dispatcher: Dispatcher
    if settings.backend is JobBackend.DISTRIBUTED:
        from engine.jobs.distributed import DistributedDispatcher

        dispatcher = await DistributedDispatcher.open(catalog, settings)
    else:
        dispatcher = EmbeddedDispatcher(signals, settings.poll_max_s)
    return JobRunner(catalog, settings, signals=signals, dispatcher=dispatcher)
