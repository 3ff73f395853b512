"""One signed POST to a receiver, through the SSRF guard, with its outcome as data (never an exception)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from engine.errors import PicshaError
from engine.ingest.fetch import OutboundPolicy, check_url, guarded_client, refused_address
from engine.webhooks.signing import signed_headers

USER_AGENT = "Picsha-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None
    refused: bool = False  # the address or URL is not allowed: trying again will not help

    @property
    def ok(self) -> bool:
        return self.error is None


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


async def send(url: str, *, secret: str, message_id: str, payload: dict[str, Any], timeout_s: float,
               outbound: OutboundPolicy) -> Outcome:
    """POST ``payload`` signed; 2xx is success. Redirects are not followed (a 3xx is a failure)."""
    try:
        checked = check_url(url)
    except PicshaError as error:
        return Outcome(error=error.message, refused=True)
    body = body_of(payload)
    headers = {**signed_headers(secret, message_id, body), "content-type": "application/json",
               "user-agent": USER_AGENT}
    try:
        with anyio.fail_after(timeout_s):
            async with guarded_client(outbound, timeout_s=timeout_s) as client:
                request = client.build_request("POST", checked, content=body.encode(), headers=headers)
                response = await client.send(request, stream=True)
                await response.aclose()  # the receiver's body is not read: only its status counts
    except (TimeoutError, httpx2.TimeoutException):
        return Outcome(error=f"the receiver did not answer within {timeout_s:g} s")
    except httpx2.HTTPError as error:
        if refused_address(error):
            # the addresses the name resolved to stay in the server log (fetch.py): never in a stored message
            return Outcome(error=f"address not allowed. {outbound.describe()}", refused=True)
        return Outcome(error=f"connection failed: {type(error).__name__}: {error}"[:500])
    if not 200 <= response.status_code < 300:
        return Outcome(status_code=response.status_code, error=f"the receiver answered HTTP {response.status_code}")
    return Outcome(status_code=response.status_code)
