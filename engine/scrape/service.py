"""``ScrapeService``: validate and queue a scrape, run it as a job, answer its files as a ZIP, and keep its
schedules."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import sqlalchemy as sa

from engine.assets.models import AssetPatch, IngestConfig, IngestOptions
from engine.assets.service import AssetService
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.enrich.service import EnrichService
from engine.errors import Busy, Conflict, InvalidInput, NotFound, PicshaError
from engine.ingest.fetch import OutboundPolicy, check_url
from engine.ingest.groups import IngestGroups
from engine.ingest.service import IngestService, clean_filename
from engine.ingest.staging import StagedFile
from engine.jobs import JobContext, JobKind, JobPolicy, JobRunner, JobStatus
from engine.scrape.archive import zip_stream
from engine.scrape.crawl import Crawl, Limits, Tally
from engine.scrape.fetcher import Budget, Fetcher
from engine.scrape.labels import filename_from, label_of
from engine.scrape.models import (
    SCRAPE_KIND, Queued, ScheduleCreate, ScheduleCreated, ScrapedAssets, ScrapedFile, ScrapeRequest, ScrapeResult,
    ScrapeStatus,
)
from engine.scrape.politeness import HostGates
from engine.scrape.robots import RobotsCache
from engine.scrape.schedules import ScheduleService
from engine.scrape.settings import ScrapeSettings
from engine.scrape.urls import normalise
from engine.settings import IngestSettings

log = logging.getLogger("picsha.scrape")

REPORT_EVERY_S = 0.25
RESULT_EVERY_S = 2.0  # the partial result grows with every file: written less often than the progress line
RECENT_LOOKBACK = 50
ANALYSIS_FOR_LABELS = IngestConfig(auto_tag=True, auto_summarize=True, ocr=True)


def fingerprint(request: ScrapeRequest) -> str:
    """What makes two scrapes the same one (``force`` aside)."""
    fields = request.model_dump(mode="json", exclude={"force"})
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class ScrapeService:
    def __init__(self, *, settings: ScrapeSettings, ingest_settings: IngestSettings, catalog: Catalog,
                 jobs: JobRunner, ingest: IngestService, assets: AssetService, enrich: EnrichService, work_dir: Path):
        self.settings = settings
        self.ingest_settings = ingest_settings
        self.catalog = catalog
        self.jobs = jobs
        self.ingest = ingest
        self.assets = assets
        self.enrich = enrich
        self.work_dir = work_dir
        self.policy = OutboundPolicy.of(ingest_settings)
        self.robots = RobotsCache(agent=settings.user_agent, ttl_s=settings.robots_ttl_s)
        self.schedules = ScheduleService(catalog=catalog, jobs=jobs)

    def job_kind(self) -> JobKind:
        # Not run twice: a second run would store the files again. Bad input was refused before queueing.
        policy = JobPolicy(attempts=1, idempotent=False, time_limit_s=self.settings.max_time_s
                           + self.settings.label_wait_s + 60, final=(PicshaError,))
        return JobKind(SCRAPE_KIND, self.handle, policy)

    # -- starting -------------------------------------------------------------------------------------

    async def start(self, principal: Principal, request: ScrapeRequest) -> Queued:
        """Queue a scrape (or, unless ``force``, answer with the same scrape finished recently)."""
        await self.validate(request)
        key = fingerprint(request)
        if not request.force and (earlier := await self._recent(principal, key)) is not None:
            return Queued(job_id=earlier, status=ScrapeStatus.COMPLETED, poll_url=f"/v1/jobs/{earlier}", cached=True)
        job_id = await self.jobs.enqueue(account_id=principal.account_id, kind=SCRAPE_KIND,
                                         payload={"request": request.model_dump(mode="json"), "fingerprint": key},
                                         requested=True)
        return Queued(job_id=job_id, poll_url=f"/v1/jobs/{job_id}")

    async def validate(self, request: ScrapeRequest) -> None:
        """400 for what can never work: not http(s), a refused address, max_files over the server's cap."""
        url = check_url(request.url)
        if normalise(request.url) is None:
            raise InvalidInput("The URL is not valid.", code="url_invalid")
        if request.max_files > self.settings.max_files_cap:
            raise InvalidInput(f"max_files {request.max_files} is over this server's cap; use 1-"
                               f"{self.settings.max_files_cap}.", code="scrape_max_files_too_large",
                               max_files=self.settings.max_files_cap)
        await self._refuse_address(url)

    async def _refuse_address(self, url: httpx2.URL) -> None:
        """Early and only for a clear answer: the guard still checks every connection when the job runs. A
        name that does not resolve now is left to the job, which then says the site was unreachable."""
        refused = InvalidInput(f"The URL's address is not allowed. {self.policy.describe()}",
                               code="url_address_not_allowed")
        port = url.port if url.port is not None else (443 if url.scheme == "https" else 80)
        if not self.policy.port_allowed(port):
            raise refused
        try:
            infos = await anyio.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return
        if any(not self.policy.admits(str(info[4][0])) for info in infos):
            raise refused

    async def _recent(self, principal: Principal, key: str) -> str | None:
        j = tables.jobs
        cutoff = now().timestamp() - self.settings.cache_ttl_s
        query = (sa.select(j.c.id, j.c.payload, j.c.finished_at)
                 .where(j.c.account_id == principal.account_id, j.c.kind == SCRAPE_KIND,
                        j.c.status == JobStatus.READY.value)
                 .order_by(j.c.finished_at.desc()).limit(RECENT_LOOKBACK))
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(query)).all()
        for row in rows:
            finished = utc(row.finished_at)
            if finished is not None and finished.timestamp() >= cutoff and (row.payload or {}).get("fingerprint") == key:
                return row.id
        return None

    # -- running ---------------------------------------------------------------------------------------

    async def handle(self, ctx: JobContext) -> dict[str, Any]:
        request = ScrapeRequest.model_validate(ctx.payload["request"])
        schedule_id: str | None = ctx.payload.get("schedule_id")
        principal = Principal(account_id=ctx.account_id)
        budget = Budget(self.settings.max_bytes)
        fetcher = Fetcher(settings=self.settings, policy=self.policy,
                          max_redirects=self.ingest_settings.fetch_max_redirects, budget=budget,
                          gates=HostGates(concurrency=self.settings.host_concurrency, delay_s=self.settings.delay_s))
        config = request.config or IngestConfig()
        if request.ai_labeling:
            config = ANALYSIS_FOR_LABELS.model_copy(update=config.model_dump(exclude_none=True))

        groups = IngestGroups(self.ingest, principal)  # files stored in groups as the crawl finds them

        async def store(staged: StagedFile, filename: str, url: str, page: str) -> ScrapedFile:
            metadata = {**request.metadata, "source_url": url, "source_page": page, "scrape_job_id": ctx.id}
            options = IngestOptions(config=config, tags=request.tags, metadata=metadata)
            asset = await groups.add(staged, clean_filename(filename), options)
            if schedule_id is not None:
                await self.schedules.remember(schedule_id, asset.meta.sha256)
            return ScrapedFile(id=asset.id, filename=asset.filename, url=url, source_page=page, type=asset.type.value,
                               size=asset.meta.size, download_url=asset.urls.original)

        async def seen_before(sha256: str) -> bool:
            return schedule_id is not None and await self.schedules.seen_before(schedule_id, sha256)

        limits = Limits(max_pages=self.settings.max_pages, max_file_bytes=self.ingest_settings.max_bytes,
                        max_pixels=self.ingest_settings.max_pixels)
        crawl = Crawl(request, fetcher=fetcher, robots=self.robots, limits=limits, work_dir=self.work_dir,
                      store=store, seen_before=seen_before)
        try:
            note = await self._run(ctx, crawl, normalise(request.url) or request.url)
        finally:
            await groups.aclose()
            await fetcher.aclose()
        if request.ai_labeling:
            await self._label(principal, crawl.tally)
        return self._result(crawl.tally, budget, ScrapeStatus.COMPLETED, note).model_dump(mode="json")

    async def _run(self, ctx: JobContext, crawl: Crawl, start: str) -> str | None:
        """The crawl, with its progress written as it goes; cut at the job's time budget (a note says so)."""
        deadline = time.monotonic() + self.settings.max_time_s
        task = asyncio.create_task(crawl.run(start))
        note = None
        last_result = 0.0
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=REPORT_EVERY_S)
                with_result = time.monotonic() - last_result >= RESULT_EVERY_S
                await self._report(ctx, crawl, with_result=with_result)
                last_result = time.monotonic() if with_result else last_result
                if not task.done() and time.monotonic() > deadline:
                    task.cancel()
                    note = f"stopped at the job's time budget of {self.settings.max_time_s:g} s"
            await asyncio.gather(task, return_exceptions=note is not None)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return note

    async def _report(self, ctx: JobContext, crawl: Crawl, *, with_result: bool) -> None:
        """Progress, and now and then the result so far; a busy catalog skips one report (the next says more)."""
        try:
            await self._write_progress(ctx, crawl, with_result=with_result)
        except Busy:
            log.info("scrape %s: progress not written, the catalog is busy", ctx.id)

    async def _write_progress(self, ctx: JobContext, crawl: Crawl, *, with_result: bool) -> None:
        tally = crawl.tally
        await ctx.report(message=f"{tally.pages_visited} pages visited, {tally.files_found} files found, "
                                 f"{len(tally.stored)} stored", done=len(tally.stored), total=crawl.request.max_files)
        if not with_result:
            return
        partial = self._result(tally, crawl.fetcher.budget, ScrapeStatus.PROCESSING, None)
        await ctx.save(result=partial.model_dump(mode="json"))

    def _result(self, tally: Tally, budget: Budget, status: ScrapeStatus, note: str | None) -> ScrapeResult:
        if not tally.stored and note is None and status is ScrapeStatus.COMPLETED:
            note = _why_nothing(tally)
        return ScrapeResult(
            status=status, assets=ScrapedAssets(count=len(tally.stored), items=list(tally.stored)),
            skipped=list(tally.skipped), skipped_count=dict(tally.skipped_count), pages_visited=tally.pages_visited,
            files_found=tally.files_found, bytes_fetched=budget.fetched, note=note,
        )

    async def _label(self, principal: Principal, tally: Tally) -> None:
        """Wait (bounded) for each file's analyses, then name it from them."""
        deadline = time.monotonic() + self.settings.label_wait_s
        for index, item in enumerate(tally.stored):
            left = deadline - time.monotonic()
            if left > 0:
                await self.enrich.wait_for_asset(principal.account_id, item.id, left)
            asset = await self.assets.get(principal, item.id)
            name = filename_from(asset)
            if name is not None:
                asset = await self.assets.update(principal, item.id, AssetPatch(filename=name))
            tally.stored[index] = item.model_copy(update={"filename": asset.filename, "ai_label": label_of(asset)})

    # -- the files as one ZIP -------------------------------------------------------------------------------

    async def archive(self, principal: Principal, job_id: str) -> tuple[str, AsyncIterator[bytes]]:
        job = await self.jobs.get(principal.account_id, job_id)
        if job.kind != SCRAPE_KIND:
            raise InvalidInput(f"Job {job_id!r} is a {job.kind!r} job; only scrape jobs have a download.",
                               code="job_not_scrape")
        if not job.finished or job.result is None:
            raise Conflict(f"Job {job_id!r} has not finished ({job.status.value}); download it once it is ready.",
                           code="job_not_finished", job_status=job.status.value)
        contents = []
        for item in ScrapeResult.model_validate(job.result).assets.items:
            try:
                contents.append(await self.assets.content(item.id, principal))
            except NotFound:  # deleted since: left out
                continue
        return f"{job_id}.zip", zip_stream(contents, self.assets.stream)

    # -- schedules -------------------------------------------------------------------------------------

    async def create_schedule(self, principal: Principal, given: ScheduleCreate) -> ScheduleCreated:
        request = given.scrape()
        await self.validate(request)
        return await self.schedules.create(principal, given, request)


def _why_nothing(tally: Tally) -> str:
    if not tally.skipped_count:
        return "no files were found on the pages visited"
    reason, count = max(tally.skipped_count.items(), key=lambda pair: pair[1])
    first = next((s for s in tally.skipped if s.reason.value == reason), None)
    detail = f": {first.detail}" if first is not None and first.detail else ""
    return f"nothing stored; most skips were {reason} ({count}){detail}"
