"""Server-side URL fetch that cannot be pointed at the server's own network.

Every connection resolves the host itself and checks each address before connecting (so a DNS answer
cannot change between check and use), redirects are followed by hand and re-checked, and bytes and time
are capped.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

import anyio
import httpcore2
import httpx2

from engine.errors import InvalidInput, UpstreamError
from engine.settings import IngestSettings

ALLOWED_SCHEMES = ("http", "https")
STREAM_CHUNK = 256 * 1024


class AddressNotAllowed(httpcore2.ConnectError):
    """Raised inside the transport when a host resolves to a refused address."""


def address_allowed(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not (ip.is_multicast or ip.is_unspecified)
    return ip.is_global and not ip.is_multicast


class GuardedNetworkBackend(httpcore2.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked address (never re-resolving)."""

    def __init__(self, *, allow_private: bool):
        self.allow_private = allow_private
        self.inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise httpcore2.ConnectError(f"cannot resolve {host!r}: {error}") from error
        addresses = [str(info[4][0]) for info in infos]
        refused = [a for a in addresses if not address_allowed(a, allow_private=self.allow_private)]
        if not addresses or refused:
            raise AddressNotAllowed(f"{host!r} resolves to a refused address ({', '.join(refused)})")
        return await self.inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def guarded_client(*, allow_private: bool, timeout_s: float) -> httpx2.AsyncClient:
    """An HTTP client whose every connection goes through the guard; it never follows redirects itself
    (a caller that follows one checks the new URL with ``check_url`` first)."""
    transport = httpx2.AsyncHTTPTransport(trust_env=False)
    # httpx2 has no public hook for the network backend; the pool is rebuilt around the guarded one.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=httpx2.create_ssl_context(),
        network_backend=GuardedNetworkBackend(allow_private=allow_private),
    )
    return httpx2.AsyncClient(transport=transport, follow_redirects=False, timeout=timeout_s, trust_env=False)


def _client(settings: IngestSettings) -> httpx2.AsyncClient:
    return guarded_client(allow_private=settings.fetch_allow_private, timeout_s=settings.fetch_timeout_s)


def check_url(raw: str) -> httpx2.URL:
    """Parse a URL an outbound request will use: http or https with a host, else a 400 with a code."""
    try:
        url = httpx2.URL(raw)
    except Exception as error:  # httpx2 raises several types for malformed URLs
        raise InvalidInput(f"The URL is not valid: {error}", code="url_invalid") from error
    if url.scheme not in ALLOWED_SCHEMES:
        raise InvalidInput(
            f"URL scheme {url.scheme!r} is not allowed; use one of: {', '.join(ALLOWED_SCHEMES)}.",
            code="url_scheme_not_allowed",
        )
    if not url.host:
        raise InvalidInput("The URL has no host.", code="url_invalid")
    return url


def refused_address(error: BaseException) -> bool:
    """httpx2 wraps transport errors; the guard's own error is somewhere in the chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, AddressNotAllowed):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _filename(url: httpx2.URL, headers: httpx2.Headers) -> str:
    disposition = headers.get("content-disposition", "")
    if match := re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition, re.IGNORECASE):
        return PurePosixPath(unquote(match.group(1))).name or "download"
    return PurePosixPath(unquote(url.path)).name or "download"


@dataclass
class FetchedBody:
    filename: str
    declared_type: str | None
    chunks: AsyncIterator[bytes]


@asynccontextmanager
async def fetch_url(raw_url: str, settings: IngestSettings) -> AsyncIterator[FetchedBody]:
    """Open a URL for streaming; raises a 4xx ``PicshaError`` for anything the floor refuses."""
    url = check_url(raw_url)
    deadline = time.monotonic() + settings.fetch_timeout_s
    async with _client(settings) as client:
        for _hop in range(settings.fetch_max_redirects + 1):
            try:
                response = await client.send(client.build_request("GET", url), stream=True)
            except httpx2.ConnectError as error:
                if refused_address(error):
                    raise InvalidInput(
                        f"The URL's host is not allowed: {error}. Only public internet addresses can be fetched.",
                        code="url_address_not_allowed",
                    ) from error
                raise UpstreamError(f"Connecting to the URL failed: {error}", code="url_fetch_failed") from error
            except httpx2.TimeoutException as error:
                raise UpstreamError("Fetching the URL timed out.", code="url_fetch_timeout", status=504) from error
            except httpx2.HTTPError as error:
                raise UpstreamError(f"Fetching the URL failed: {error}", code="url_fetch_failed") from error
            if response.is_redirect:
                location = response.headers.get("location", "")
                await response.aclose()
                url = check_url(str(url.join(location)))
                continue
            try:
                if response.status_code >= 400:
                    raise UpstreamError(
                        f"The URL answered HTTP {response.status_code}.", code="url_fetch_failed",
                        upstream_status=response.status_code,
                    )
                yield FetchedBody(
                    filename=_filename(url, response.headers),
                    declared_type=response.headers.get("content-type"),
                    chunks=_timed_chunks(response, deadline),
                )
            finally:
                await response.aclose()
            return
        raise InvalidInput(
            f"The URL redirected more than {settings.fetch_max_redirects} times.", code="url_too_many_redirects"
        )


async def _timed_chunks(response: httpx2.Response, deadline: float) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(STREAM_CHUNK):
            if time.monotonic() > deadline:
                raise UpstreamError("Fetching the URL took too long.", code="url_fetch_timeout", status=504)
            yield chunk
    except httpx2.HTTPError as error:
        raise UpstreamError(f"Reading the URL failed: {error}", code="url_fetch_failed") from error
