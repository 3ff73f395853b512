"""One scrape's crawl: pages breadth by depth within the site, files from each page, every URL once.

Pages and files are fetched concurrently (each host's gate bounds how many at once), files are stored as
they arrive, and the crawl stops at its budgets: pages, bytes (``Budget``), time (the caller's deadline)
and files stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from engine.assets.models import AssetType
from engine.errors import PicshaError
from engine.ingest.sniff import sniff
from engine.ingest.staging import StagedFile
from engine.media.probe import probe
from engine.scrape.extract import FileKind, read_page
from engine.scrape.fetcher import Fetcher
from engine.scrape.models import ScrapedFile, ScrapeRequest, Skipped, SkipReason
from engine.scrape.robots import RobotsCache
from engine.scrape.skips import Skip
from engine.scrape.urls import filename_of, site_of

log = logging.getLogger("picsha.scrape")

MAX_LISTED_SKIPS = 200
# Files handed to the store at once: enough to fill the ingest's groups (``IngestGroups``) while one is being
# committed; a bound on the staged files waiting on disk.
STORES_AT_ONCE = 128
HTML_TYPES = ("text/html", "application/xhtml+xml")
INSPECT_INLINE_BYTES = 256 * 1024

Store = Callable[[StagedFile, str, str, str], Awaitable[ScrapedFile]]
"""Store a staged file (staged, filename, source url, source page) as an asset; raises ``PicshaError``."""
SeenBefore = Callable[[str], Awaitable[bool]]


@dataclass
class Limits:
    max_pages: int
    max_file_bytes: int
    max_pixels: int


@dataclass
class Tally:
    stored: list[ScrapedFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    skipped_count: Counter[str] = field(default_factory=Counter)
    pages_visited: int = 0
    files_found: int = 0

    def skip(self, url: str, reason: SkipReason, detail: str | None = None) -> None:
        self.skipped_count[reason.value] += 1
        if len(self.skipped) < MAX_LISTED_SKIPS:
            self.skipped.append(Skipped(url=url, reason=reason, detail=detail))


class Crawl:
    def __init__(self, request: ScrapeRequest, *, fetcher: Fetcher, robots: RobotsCache, limits: Limits,
                 work_dir: Path, store: Store, seen_before: SeenBefore):
        self.request = request
        self.fetcher = fetcher
        self.robots_cache = robots
        self.limits = limits
        self.work_dir = work_dir
        self.store = store
        self.seen_before = seen_before
        self.tally = Tally()
        self.pages_seen: set[str] = set()
        self.files_seen: set[str] = set()
        self.hashes: set[str] = set()
        self.pages_asked = 0  # pages requested, read or not: the page budget
        self.reserved = 0  # files being stored or stored: never more than max_files
        self.keyword = request.keyword_filter.lower() if request.keyword_filter else None
        self.start_site = ""
        self.group: asyncio.TaskGroup | None = None
        self.storing = asyncio.Semaphore(STORES_AT_ONCE)

    @property
    def full(self) -> bool:
        return self.reserved >= self.request.max_files

    async def run(self, start: str) -> Tally:
        self.start_site = site_of(start)
        async with asyncio.TaskGroup() as group:
            self.group = group
            self._visit(start, 0)
        return self.tally

    # -- pages --------------------------------------------------------------------------------------

    def _visit(self, url: str, depth: int) -> None:
        if url in self.pages_seen:
            return
        self.pages_seen.add(url)
        assert self.group is not None
        self.group.create_task(self._page(url, depth))

    async def _page(self, url: str, depth: int) -> None:
        if self.full:
            return
        if self.pages_asked >= self.limits.max_pages:
            self.tally.skip(url, SkipReason.BUDGET, f"the job's page budget of {self.limits.max_pages} ran out")
            return
        self.pages_asked += 1
        try:
            page = await self.fetcher.page(url, self.robots)
            if page.content_type.split(";")[0].strip().lower() not in HTML_TYPES and not _looks_html(page.body):
                raise Skip(SkipReason.FILTERED, f"not an HTML page ({page.content_type or 'no type'})")
            found = await anyio.to_thread.run_sync(lambda: read_page(
                page.body, page.url, icons=self.request.include_icons, videos=self.request.download_videos,
                docs=self.request.download_docs))
        except Skip as skip:
            self.tally.skip(url, skip.reason, skip.detail)
            return
        except Exception as error:  # one broken page must not end the crawl
            log.warning("scraping page %s failed: %r", url, error)
            self.tally.skip(url, SkipReason.ERROR, type(error).__name__)
            return
        self.tally.pages_visited += 1
        self.pages_seen.add(page.url)  # where a redirect led: a link to it is the same page
        if depth == 0:
            self.start_site = site_of(page.url)  # the site is where the first page really is (www., https)
        assert self.group is not None
        for file_url, kind in found.files.items():
            if file_url not in self.files_seen:
                self.files_seen.add(file_url)
                self.tally.files_found += 1
                self.group.create_task(self._file(file_url, kind, page.url))
        if depth < self.request.depth:
            for link in found.links:
                if self.request.follow_external or site_of(link) == self.start_site:
                    self._visit(link, depth + 1)

    async def robots(self, url: str) -> None:
        rules = await self.robots_cache.rules_for(url, self._read_robots)
        delay = rules.crawl_delay(self.robots_cache.agent)
        if delay:
            self.fetcher.gates.honour_crawl_delay(url, min(delay, self.fetcher.settings.max_crawl_delay_s))
        rules.check(url, self.robots_cache.agent)

    async def _read_robots(self, url: str) -> tuple[int, bytes]:
        page = await self.fetcher.page(url, None, max_bytes=self.fetcher.settings.max_robots_bytes, truncate=True)
        return 200, page.body

    # -- files --------------------------------------------------------------------------------------

    async def _file(self, url: str, kind: FileKind, page: str) -> None:
        try:
            await self._take(url, kind, page)
        except Skip as skip:
            self.tally.skip(url, skip.reason, skip.detail)
        except Exception as error:  # one broken file must not end the crawl
            log.warning("scraping file %s failed: %r", url, error)
            self.tally.skip(url, SkipReason.ERROR, type(error).__name__)

    async def _take(self, url: str, kind: FileKind, page: str) -> None:
        if self.keyword is not None and self.keyword not in url.lower():
            raise Skip(SkipReason.FILTERED, f"the URL does not contain {self.request.keyword_filter!r}")
        if self.full:
            raise Skip(SkipReason.BUDGET, f"max_files ({self.request.max_files}) reached")
        staged = await self.fetcher.file(url, self.robots, work_dir=self.work_dir, max_bytes=self.limits.max_file_bytes)
        try:
            await self._check(staged, url, kind)
        except BaseException:
            staged.discard()
            raise
        if self.full:
            staged.discard()
            raise Skip(SkipReason.BUDGET, f"max_files ({self.request.max_files}) reached")
        self.reserved += 1
        try:
            with anyio.CancelScope(shield=True):  # a file being stored is finished, even when the crawl stops
                async with self.storing:
                    stored = await self.store(staged, filename_of(url), url, page)
        except PicshaError as error:
            self.reserved -= 1
            raise Skip(SkipReason.REFUSED_BY_INGEST, error.message) from error
        self.tally.stored.append(stored)

    async def _check(self, staged: StagedFile, url: str, kind: FileKind) -> None:
        """Size, duplicates, type, then (when asked) pixel size: before anything is stored."""
        if staged.size < self.request.min_size_kb * 1024:
            raise Skip(SkipReason.TOO_SMALL, f"{staged.size} bytes, under min_size_kb {self.request.min_size_kb}")
        if staged.sha256 in self.hashes:
            raise Skip(SkipReason.DUPLICATE, "the same bytes came from another URL in this job")
        self.hashes.add(staged.sha256)
        if await self.seen_before(staged.sha256):
            raise Skip(SkipReason.DUPLICATE, "stored by an earlier run of this schedule")
        probes = bool(self.request.min_width or self.request.min_height)  # a probe may parse a whole SVG
        if staged.size <= INSPECT_INLINE_BYTES and not probes:  # a sniff (of the head; a text's all): cheaper
            width, height = self._inspect(staged, url, kind)
        else:
            width, height = await anyio.to_thread.run_sync(self._inspect, staged, url, kind)
        if width < self.request.min_width or height < self.request.min_height:
            raise Skip(SkipReason.TOO_SMALL, f"{width}x{height} px, under {self.request.min_width}x"
                       f"{self.request.min_height}")

    def _inspect(self, staged: StagedFile, url: str, wanted: FileKind) -> tuple[int, int]:
        """The sniffed type must be what the page promised (an image for an image); dimensions when a minimum
        is asked (read from the header, within the pixel limit)."""
        sniffed = sniff(staged.path, filename_of(url), ascii_text=staged.ascii_text)
        if sniffed is None:
            raise Skip(SkipReason.REFUSED_BY_INGEST, "not an allowed file type")
        expected = {FileKind.IMAGE: (AssetType.IMAGE,), FileKind.ICON: (AssetType.IMAGE,),
                    FileKind.DOCUMENT: (AssetType.DOCUMENT, AssetType.TEXT)}.get(wanted, ())
        if sniffed.type not in expected:
            raise Skip(SkipReason.REFUSED_BY_INGEST, f"found as {wanted.value} but its bytes are {sniffed.format}")
        if not (self.request.min_width or self.request.min_height):
            return 0, 0
        try:
            info = probe(staged.path, sniffed, max_pixels=self.limits.max_pixels)
        except PicshaError as error:
            raise Skip(SkipReason.REFUSED_BY_INGEST, error.message) from error
        return info.width or 0, info.height or 0


def _looks_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))

