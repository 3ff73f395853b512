"""Server-side URL fetch that cannot be pointed at the server's own network.

Every connection resolves the host itself and checks the port and each address before connecting (so a
DNS answer cannot change between check and use), redirects are followed by hand and re-checked, and bytes
and time are capped. A refusal says only that the address is not allowed: which addresses a name resolved
to stays in the server log, so the answers cannot map the server's network.
"""

from __future__ import annotations

import ipaddress
import logging
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

from engine.errors import InvalidInput, PicshaError, UpstreamError
from engine.settings import IngestSettings

ALLOWED_SCHEMES = ("http", "https")
STREAM_CHUNK = 256 * 1024
_NO_SUCH_NAME = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)}

log = logging.getLogger("picsha.fetch")


class AddressNotAllowed(httpcore2.ConnectError):
    """Raised inside the transport when a host resolves to a refused address or the port is not allowed."""


class HostUnresolvable(httpcore2.ConnectError):
    """Raised inside the transport when the host name does not exist (the caller's mistake, not upstream's)."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Where outbound requests may connect: public addresses on the allowed ports, unless settings widen it."""

    allow_private: bool = False
    allowed_ports: frozenset[int] = frozenset({80, 443})
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, settings: IngestSettings) -> OutboundPolicy:
        return cls(allow_private=settings.fetch_allow_private, allowed_ports=frozenset(settings.fetch_allowed_ports),
                   allowed_networks=tuple(settings.fetch_allowed_networks))

    def admits(self, address: str) -> bool:
        """Whether a connection to this resolved address may be made."""
        if address_allowed(address, allow_private=self.allow_private):
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in network for network in self.allowed_networks) and not ip.is_multicast

    def port_allowed(self, port: int) -> bool:
        # A private network's services listen on any port: allowing private addresses allows every port.
        return self.allow_private or port in self.allowed_ports

    def describe(self) -> str:
        if self.allow_private:
            return "Only addresses that are not multicast can be reached."
        ports = sorted(self.allowed_ports)
        named = " and ".join([", ".join(map(str, ports[:-1])), str(ports[-1])] if len(ports) > 1 else map(str, ports))
        return f"Only public internet addresses on port{'s' if len(ports) > 1 else ''} {named} can be reached."


def address_allowed(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not (ip.is_multicast or ip.is_unspecified)
    return ip.is_global and not ip.is_multicast


class GuardedNetworkBackend(httpcore2.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked address (never re-resolving)."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy
        self.inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        if not self.policy.port_allowed(port):
            log.warning("outbound connection to %r refused: port %d is not allowed", host, port)
            raise AddressNotAllowed("the port is not allowed")
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            log.info("outbound host %r does not resolve: %s", host, error)
            if error.errno in _NO_SUCH_NAME:
                raise HostUnresolvable("the host name does not resolve") from error
            raise httpcore2.ConnectError("the host name could not be resolved now") from error
        except OSError as error:
            log.info("outbound host %r does not resolve: %s", host, error)
            raise httpcore2.ConnectError("the host name could not be resolved now") from error
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise HostUnresolvable("the host name does not resolve")
        refused = [a for a in addresses if not self.policy.admits(a)]
        if refused:
            log.warning("outbound connection to %r refused: it resolves to %s", host, ", ".join(refused))
            raise AddressNotAllowed("the address is not allowed")
        return await self.inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def guarded_client(policy: OutboundPolicy, *, timeout_s: float) -> httpx2.AsyncClient:
    """An HTTP client whose every connection goes through the guard; it never follows redirects itself
    (a caller that follows one checks the new URL with ``check_url`` first)."""
    transport = httpx2.AsyncHTTPTransport(trust_env=False)
    # httpx2 has no public hook for the network backend; the pool is rebuilt around the guarded one.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=httpx2.create_ssl_context(),
        network_backend=GuardedNetworkBackend(policy),
    )
    return httpx2.AsyncClient(transport=transport, follow_redirects=False, timeout=timeout_s, trust_env=False)


def _client(settings: IngestSettings) -> httpx2.AsyncClient:
    return guarded_client(OutboundPolicy.of(settings), timeout_s=settings.fetch_timeout_s)


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


def _in_chain(error: BaseException, kind: type[BaseException]) -> bool:
    """httpx2 wraps transport errors; the guard's own error is somewhere in the chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def refused_address(error: BaseException) -> bool:
    return _in_chain(error, AddressNotAllowed)


def unresolvable(error: BaseException) -> bool:
    return _in_chain(error, HostUnresolvable)


def connect_failure(error: httpx2.HTTPError, policy: OutboundPolicy) -> PicshaError:
    """The public answer to a failed connection; the details (addresses, resolver errors) go to the log."""
    if refused_address(error):
        return InvalidInput(f"The URL's address is not allowed. {policy.describe()}", code="url_address_not_allowed")
    if unresolvable(error):
        return InvalidInput("The URL's host name does not resolve.", code="url_unresolvable")
    log.info("outbound connection failed: %r", error)
    return UpstreamError(f"Connecting to the URL failed ({type(error).__name__}).", code="url_fetch_failed")


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
                raise connect_failure(error, OutboundPolicy.of(settings)) from error
            except httpx2.TimeoutException as error:
                raise UpstreamError("Fetching the URL timed out.", code="url_fetch_timeout", status=504) from error
            except httpx2.HTTPError as error:
                log.info("fetching %s failed: %r", url, error)
                raise UpstreamError(f"Fetching the URL failed ({type(error).__name__}).", code="url_fetch_failed") from error
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
        log.info("reading a fetched URL failed: %r", error)
        raise UpstreamError(f"Reading the URL failed ({type(error).__name__}).", code="url_fetch_failed") from error
