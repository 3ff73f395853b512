"""The scrape contracts: what a caller asks for, what a job answers, and a schedule of recurring scrapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from engine.assets.models import IngestConfig, Metadata
from engine.jobs.models import Job, JobStatus

SCRAPE_KIND = "scrape"
MAX_DEPTH = 2
FILES_BOUND = 100_000  # the schema's bound; the server's own cap (settings) is usually lower


class ScrapeRequest(BaseModel):
    """``POST /v1/scrape`` (the spec's fields, plus what the created assets carry)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="The http(s) page to scrape.")
    sniper_mode: bool = Field(default=True, description="true: this page only. false: follow links crawl_depth deep.")
    crawl_depth: int = Field(default=1, ge=0, le=MAX_DEPTH, description="Link levels followed when sniper_mode is false.")
    follow_external: bool = Field(default=False, description="Follow links to other sites too (crawl only).")
    max_files: int = Field(default=100, ge=1, le=FILES_BOUND, description="Most files stored (the server caps it).")
    min_size_kb: int = Field(default=0, ge=0, le=1_000_000, description="Skip files smaller than this.")
    min_width: int = Field(default=0, ge=0, le=100_000, description="Skip images narrower than this (px).")
    min_height: int = Field(default=0, ge=0, le=100_000, description="Skip images shorter than this (px).")
    keyword_filter: str | None = Field(default=None, min_length=1, max_length=200,
                                       description="Only files whose URL contains this word (any case).")
    download_videos: bool = Field(default=False, description="Also take linked videos (.mp4, .mov, ...).")
    download_docs: bool = Field(default=False, description="Also take linked documents (.pdf, .docx, ...).")
    include_icons: bool = Field(default=False, description="Also take <link rel=icon/apple-touch-icon>.")
    ai_labeling: bool = Field(default=False, description="Analyse each file and name it from its caption, tags, OCR.")
    force: bool = Field(default=False, description="Scrape again even when the same scrape ran recently.")
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)
    config: IngestConfig | None = Field(default=None, description="Which analyses run on the stored files.")
    metadata: Metadata = Field(default_factory=dict, description="Your JSON fields, stored on every file.")

    @property
    def depth(self) -> int:
        return 0 if self.sniper_mode else self.crawl_depth


class ScrapeStatus(StrEnum):
    """The spec's job vocabulary (the job row itself says queued/running/ready/failed)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class SkipReason(StrEnum):
    ROBOTS = "robots"  # robots.txt disallows it (or could not be read: 5xx)
    TOO_SMALL = "too_small"  # under min_size_kb, min_width or min_height
    FILTERED = "filtered"  # keyword_filter, or a kind not asked for
    DUPLICATE = "duplicate"  # the same bytes already came in this job (or an earlier run of its schedule)
    REFUSED_ADDRESS = "refused_address"  # the SSRF guard: private, loopback, metadata address or port
    TOO_LARGE = "too_large"  # over a byte cap
    REFUSED_BY_INGEST = "refused_by_ingest"  # not an allowed type, over the pixel limit, unreadable
    BUDGET = "budget"  # the job's page, byte, time or file budget ran out
    ERROR = "error"  # HTTP error, timeout, unreachable


class Queued(BaseModel):
    """The 202 answer of ``POST /v1/scrape``."""

    job_id: str
    status: ScrapeStatus = ScrapeStatus.QUEUED
    poll_url: str
    cached: bool = Field(default=False, description="True: a recent identical scrape answers (force: true to redo).")


class ScrapedFile(BaseModel):
    id: str = Field(description="The asset id (as_...).")
    filename: str
    url: str = Field(description="Where the file was found (its source URL).")
    source_page: str
    type: str
    size: int
    ai_label: str | None = None
    download_url: str = Field(description="A signed link to the stored original.")


class ScrapedAssets(BaseModel):
    count: int
    items: list[ScrapedFile]


class Skipped(BaseModel):
    url: str
    reason: SkipReason
    detail: str | None = None


class ScrapeTotals(BaseModel):
    """What was skipped and why, and the crawl's totals."""

    skipped: list[Skipped] = Field(default_factory=list, description="The first skips, each with its reason.")
    skipped_count: dict[str, int] = Field(default_factory=dict, description="Every skip, counted by reason.")
    pages_visited: int = 0
    files_found: int = 0
    bytes_fetched: int = 0
    note: str | None = Field(default=None, description="Why nothing was stored, when nothing was.")


class ScrapeResult(ScrapeTotals):
    """A scrape job's ``result``: the spec's shape plus what was skipped and why, and the crawl's totals."""

    status: ScrapeStatus
    assets: ScrapedAssets


SPEC_STATUS = {JobStatus.QUEUED: ScrapeStatus.QUEUED, JobStatus.RUNNING: ScrapeStatus.PROCESSING,
               JobStatus.READY: ScrapeStatus.COMPLETED, JobStatus.FAILED: ScrapeStatus.FAILED,
               JobStatus.CANCELLED: ScrapeStatus.FAILED}
"""A scrape job's state in the spec's words (it has no "cancelled": a cancelled scrape did not complete)."""


class ScrapeJob(Job, ScrapeTotals):
    """``GET /v1/jobs/{id}`` of a scrape job: the job as every job answers it, with the spec's fields at the
    top level. ``status`` is the spec's (queued, processing, completed, failed: ``SPEC_STATUS``); the job
    system's own state is ``job_status``, and ``finished_at`` is set once it ended, whichever the words."""

    status: ScrapeStatus  # type: ignore[assignment]  # the spec's words for this kind of job
    job_status: JobStatus = Field(description="The job system's state: queued, running, ready, failed, cancelled.")
    job_id: str = Field(description="The job's id (as ``id``), named as the spec names it.")
    success: bool = Field(description="False once the job failed or was cancelled.")
    assets: ScrapedAssets = Field(description="The files stored so far: all of them once completed.")

    @classmethod
    def of(cls, job: Job) -> ScrapeJob:
        found = ScrapeResult.model_validate(job.result) if job.result else None
        status = SPEC_STATUS[job.status]
        totals = found.model_dump(exclude={"status", "assets"}) if found else {}
        return cls(**{**job.model_dump(exclude={"status"}), "account_id": job.account_id}, **totals,
                   status=status, job_status=job.status, job_id=job.id, success=status is not ScrapeStatus.FAILED,
                   assets=found.assets if found else ScrapedAssets(count=0, items=[]))


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ScheduleCreate(ScrapeRequest):
    """``POST /v1/automation/schedules``: when, and the scrape each run makes."""

    name: str = Field(min_length=1, max_length=200, description="The schedule's label.")
    schedule: str = Field(
        default=Cadence.WEEKLY.value, min_length=1, max_length=100,
        description="daily, weekly, monthly, or a 5-field cron expression (UTC).",
    )
    hour: int = Field(default=8, ge=0, le=23, description="UTC hour of daily, weekly and monthly runs.")
    day_of_week: int = Field(default=0, ge=0, le=6, description="Weekly runs: 0 = Monday ... 6 = Sunday.")

    def scrape(self) -> ScrapeRequest:
        return ScrapeRequest.model_validate(self.model_dump(include=set(ScrapeRequest.model_fields)))


class ScheduleCreated(BaseModel):
    schedule_id: str
    next_run: datetime


class Schedule(BaseModel):
    id: str
    name: str
    url: str
    schedule: str
    cron: str = Field(description="The cron expression the schedule runs on (UTC).")
    enabled: bool
    next_run: datetime
    last_run_at: datetime | None = None
    last_job_id: str | None = None
    created_at: datetime
    request: ScrapeRequest
