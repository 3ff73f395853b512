"""Scrape tool: collect a page's (or a site's) images as a job, wait a bounded time with progress, and answer
with the stored assets (ids and source URLs) plus small previews."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field

from engine.scrape.models import MAX_DEPTH, ScrapeRequest, ScrapeResult, ScrapeStatus
from engine.usage import UsageKind
from tools_manifest.calls import current_call
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ImageAttachment, ToolOutput, ToolSpec

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

MAX_WAIT_S = 60
MAX_FILES = 100
PREVIEWS = 3
PREVIEW_PX = 256


class ScrapeImagesInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="http(s) page.")
    sniper_mode: bool = Field(default=True, description="true: this page only; false: follow links.")
    crawl_depth: int = Field(default=1, ge=0, le=MAX_DEPTH)
    max_files: int = Field(default=20, ge=1, le=MAX_FILES)
    min_width: int = Field(default=0, ge=0, le=10_000)
    keyword_filter: str | None = Field(default=None, min_length=1, max_length=200, description="URL must contain it.")
    wait_s: int = Field(default=30, ge=0, le=MAX_WAIT_S)


class ScrapeImagesOutput(ToolOutput):
    job_id: str
    status: ScrapeStatus
    count: int
    asset_ids: list[str]
    urls: list[str] = Field(description="Source URL of each stored file, as asset_ids.")
    skipped: dict[str, int] = Field(description="Skips counted by reason.")
    note: str | None = None


async def scrape_images(engine: Engine, principal: Principal, given: ScrapeImagesInput) -> ScrapeImagesOutput:
    request = ScrapeRequest(**given.model_dump(exclude={"wait_s"}))
    queued = await engine.scrape.start(principal, request)
    progress = current_call().progress
    with contextlib.suppress(TimeoutError):
        with anyio.fail_after(given.wait_s):
            async for job in engine.jobs.watch(principal.account_id, queued.job_id):
                await progress(job.done or 0, job.total, job.message or job.status.value)
                if job.finished:
                    break
    job = await engine.jobs.get(principal.account_id, queued.job_id)
    status = ScrapeStatus.FAILED if job.status.value in ("failed", "cancelled") else ScrapeStatus.QUEUED
    result = ScrapeResult.model_validate(job.result) if job.result else None
    items = result.assets.items if result else []
    output = ScrapeImagesOutput(
        job_id=job.id, status=result.status if result else status, count=len(items),
        asset_ids=[item.id for item in items], urls=[item.url for item in items],
        skipped=result.skipped_count if result else {}, note=(result.note if result else job.error),
    )
    for item in [item for item in items if item.type == "image"][:PREVIEWS]:
        preview = await engine.previews.of_asset(principal, item.id, max_side=PREVIEW_PX)
        output.attach(ImageAttachment(data=preview.data, mime_type=preview.mime_type))
    return output


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="scrape_images",
        scope=Scope.SCRAPE,
        action="scrape",
        title="Scrape images",
        description="Collect the images of a web page (or its site, sniper_mode false) into Picsha, obeying "
        "robots.txt. Waits up to wait_s with progress; returns job_id, status, asset_ids, source urls, skips by "
        "reason, and previews. Still processing: wait_job.",
        example={"url": "https://example.com/gallery", "max_files": 10},
        input=ScrapeImagesInput,
        output=ScrapeImagesOutput,
        hints=Hints(read_only=False, destructive=False, idempotent=False, open_world=True),
        cost=Cost(billed_as=[UsageKind.STORAGE], note="storage for each stored file"),
        run=scrape_images,
    ),
]
