"""What every provider adapter shares: the call it gets, what it answers, how it fails, and one retried send.

An adapter speaks its provider's wire format and nothing else: it never stores, prices in the ledger or
checks the images it got (the service does). Its errors carry a reason that can be shown and stored, so
they never quote a key, a request URL or a provider's raw answer at length.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from engine.generation.models import ImageFormat, Orientation
from engine.generation.settings import ProviderName, ProviderSettings

log = logging.getLogger("picsha.generate")
REASON_MAX = 300


class ProviderFailed(Exception):
    """The provider could not answer with images now: the chain tries the next one."""

    def __init__(self, reason: str):
        super().__init__(reason[:REASON_MAX])
        self.reason = reason[:REASON_MAX]


class ProviderRefused(ProviderFailed):
    """The provider declined the prompt for safety reasons."""


@dataclass(frozen=True)
class Call:
    """One request to one provider. ``key`` lives only as long as this object."""

    prompt: str
    count: int
    orientation: Orientation
    format: ImageFormat | None
    key: str = field(repr=False)
    seed: int


@dataclass
class ImageData:
    """An image as the provider gave it: bytes inline, or a URL to fetch at once (they expire)."""

    data: bytes | None = None
    url: str | None = None
    seed: int | None = None


@dataclass
class Answer:
    images: list[ImageData]
    cost_usd: float | None = None  # from the provider's reported usage; None: price by the image
    usage: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: ProviderName
    settings: ProviderSettings

    async def generate(self, call: Call) -> Answer: ...


class _Transient(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _retryable(error: BaseException) -> bool:
    return isinstance(error, _Transient)


def _transient_reason(response: httpx2.Response) -> str | None:
    if response.status_code == 429:
        return "rate limited (HTTP 429)"
    if response.status_code >= 500:
        return f"server error (HTTP {response.status_code})"
    return None


async def send(client: httpx2.AsyncClient, settings: ProviderSettings, method: str, url: str, *,
               headers: dict[str, str], json: Any | None = None, timeout_s: float | None = None) -> httpx2.Response:
    """One request, tried again on a timeout, a lost connection, 429 or 5xx; then ``ProviderFailed``."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.attempts), reraise=True, retry=retry_if_exception(_retryable),
        wait=wait_exponential(multiplier=settings.retry_wait_s, max=max(settings.retry_wait_s * 8, 0.0)),
    )
    try:
        async for attempt in retrying:
            with attempt:
                try:
                    response = await client.request(method, url, headers=headers, json=json,
                                                    timeout=timeout_s or settings.timeout_s)
                except httpx2.TimeoutException as error:
                    raise _Transient("timed out") from error
                except httpx2.TransportError as error:
                    raise _Transient(f"could not be reached ({type(error).__name__})") from error
                if (reason := _transient_reason(response)) is not None:
                    raise _Transient(reason)
    except _Transient as error:
        reason = f"{error.reason} after {settings.attempts} tries"
    else:
        return response
    raise ProviderFailed(reason)  # outside the except: no chained cause that quotes the request


def answer_json(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderFailed(f"answered HTTP {response.status_code} with malformed JSON") from None


def error_message(body: Any) -> str:
    """The provider's own error message, shortened (a dict ``error.message``, ``detail`` or ``error``)."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return str(inner.get("message") or inner.get("code") or inner)[:200]
        for name in ("detail", "error", "message"):
            if body.get(name):
                return str(body[name])[:200]
    return ""


def failed_status(response: httpx2.Response, body: Any) -> ProviderFailed:
    message = error_message(body)
    return ProviderFailed(f"answered HTTP {response.status_code}" + (f": {message}" if message else ""))
