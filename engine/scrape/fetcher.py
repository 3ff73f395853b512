"""Every request a scrape makes: through the one SSRF guard (checked at connect time, on every hop), politely,
with the job's byte budget and a time cap per request (so a slow-loris server cannot hold a worker).

Redirects are followed here, one hop at a time, each new URL checked (scheme) and connected through the
guard again; robots.txt is asked before every hop of a page or file request.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import anyio
import httpx2

from engine.errors import PicshaError
from engine.ingest.fetch import OutboundPolicy, check_url, guarded_client, refused_address, unresolvable
from engine.ingest.staging import StagedFile, StagingWriter
from engine.scrape.models import SkipReason
from engine.scrape.politeness import HostGates
from engine.scrape.settings import ScrapeSettings
from engine.scrape.skips import Skip
from engine.scrape.urls import normalise

RETRY_STATUSES = (429, 503)
CHUNK = 64 * 1024

RobotsCheck = Callable[[str], Awaitable[None]]
"""Raises ``Skip(ROBOTS)`` when robots.txt forbids the URL."""


@dataclass
class Page:
    url: str  # after redirects
    content_type: str
    body: bytes


@dataclass
class Budget:
    max_bytes: int
    fetched: int = 0

    def take(self, count: int) -> None:
        self.fetched += count
        self.check()

    def check(self) -> None:
        if self.fetched > self.max_bytes:
            raise Skip(SkipReason.BUDGET, f"the job's byte budget of {self.max_bytes} bytes ran out")


def retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class Fetcher:
    def __init__(self, *, settings: ScrapeSettings, policy: OutboundPolicy, max_redirects: int, gates: HostGates,
                 budget: Budget):
        self.settings = settings
        self.max_redirects = max_redirects
        self.gates = gates
        self.budget = budget
        self.client = guarded_client(policy, timeout_s=settings.request_timeout_s)
        self.headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- the two kinds of body --------------------------------------------------------------------------

    async def page(self, url: str, robots: RobotsCheck | None, *, max_bytes: int | None = None,
                   truncate: bool = False) -> Page:
        """The whole body; over the cap it is refused, or with ``truncate`` cut at the cap."""
        cap = max_bytes or self.settings.max_page_bytes
        async with self._open(url, robots) as (final, response):
            body = bytearray()
            async for chunk in self._chunks(response):
                body += chunk
                if len(body) > cap:
                    if truncate:
                        del body[cap:]
                        break
                    raise Skip(SkipReason.TOO_LARGE, f"the page is larger than {cap} bytes")
            return Page(final, response.headers.get("content-type", ""), bytes(body))

    async def file(self, url: str, robots: RobotsCheck | None, *, work_dir: Path, max_bytes: int) -> StagedFile:
        async with self._open(url, robots) as (_final, response):
            writer = StagingWriter(work_dir, max_bytes=max_bytes)
            try:
                async for chunk in self._chunks(response):
                    await writer.write(chunk)
                return writer.finish()
            except PicshaError as error:  # over the ingest byte cap, or empty
                writer.abort()
                reason = SkipReason.TOO_LARGE if error.status == 413 else SkipReason.REFUSED_BY_INGEST
                raise Skip(reason, error.message) from error
            except BaseException:
                writer.abort()
                raise

    # -- one request, its redirects and retries ------------------------------------------------------------

    @asynccontextmanager
    async def _open(self, url: str, robots: RobotsCheck | None) -> AsyncIterator[tuple[str, httpx2.Response]]:
        for _hop in range(self.max_redirects + 1):
            self.budget.check()
            if robots is not None:
                await robots(url)
            response, deadline = await self._send(url)
            if response.is_redirect:
                location = response.headers.get("location", "")
                await response.aclose()
                url = self._next_hop(url, location)
                continue
            try:
                if response.status_code >= 400:
                    raise Skip(SkipReason.ERROR, f"HTTP {response.status_code}")
                with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                    yield url, response
            except TimeoutError as error:
                raise Skip(SkipReason.ERROR, f"took longer than {self.settings.request_timeout_s:g} s") from error
            finally:
                await response.aclose()
            return
        raise Skip(SkipReason.ERROR, f"more than {self.max_redirects} redirects")

    def _next_hop(self, url: str, location: str) -> str:
        following = normalise(location, url)
        if following is None:
            raise Skip(SkipReason.ERROR, "redirected to a URL that is not http(s)")
        try:
            check_url(following)
        except PicshaError as error:
            raise Skip(SkipReason.ERROR, error.message) from error
        return following

    async def _send(self, url: str) -> tuple[httpx2.Response, float]:
        """The answer (after any 429/503 retries), and by when its body must have arrived: each try has the
        request time cap from its start, the wait a Retry-After asked for not counted."""
        gate = self.gates.of(url)
        for attempt in range(self.settings.retries + 1):
            async with gate.slot():
                deadline = time.monotonic() + self.settings.request_timeout_s
                response = await self._request(url, deadline)
            if response.status_code not in RETRY_STATUSES or attempt == self.settings.retries:
                return response, deadline
            wait = retry_after_s(response.headers.get("retry-after"))
            await response.aclose()
            if wait is not None and wait > self.settings.max_retry_after_s:
                raise Skip(SkipReason.ERROR, f"HTTP {response.status_code}, Retry-After {wait:g} s is too long")
            gate.pause(wait if wait is not None else max(self.settings.delay_s, 1.0))
        raise AssertionError("unreachable")

    async def _request(self, url: str, deadline: float) -> httpx2.Response:
        try:
            with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                return await self.client.send(self.client.build_request("GET", url, headers=self.headers), stream=True)
        except TimeoutError as error:
            raise Skip(SkipReason.ERROR, f"no answer within {self.settings.request_timeout_s:g} s") from error
        except httpx2.ConnectError as error:
            if refused_address(error):
                raise Skip(SkipReason.REFUSED_ADDRESS, "the address is not allowed (private, loopback, "
                           "link-local, metadata or a port that is not allowed)") from error
            if unresolvable(error):
                raise Skip(SkipReason.ERROR, "the host name does not resolve") from error
            raise Skip(SkipReason.ERROR, f"could not connect ({type(error).__name__})") from error
        except httpx2.TimeoutException as error:
            raise Skip(SkipReason.ERROR, "timed out") from error
        except httpx2.HTTPError as error:
            raise Skip(SkipReason.ERROR, f"request failed ({type(error).__name__})") from error

    async def _chunks(self, response: httpx2.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes(CHUNK):
                self.budget.take(len(chunk))
                yield chunk
        except httpx2.HTTPError as error:  # a broken body, or a compression that does not decode
            raise Skip(SkipReason.ERROR, f"reading the body failed ({type(error).__name__})") from error
