"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>``,
an HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed with the secret's base64-decoded bytes."""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime

from standardwebhooks import Webhook

from engine.catalog.database import now
from engine.errors import InvalidInput

PREFIX = "whsec_"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def checked_secret(raw: str) -> str:
    """A caller's secret, as ``whsec_<base64>``; refused unless it decodes to 24-64 bytes."""
    encoded = raw.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidInput(
            f"A webhook secret is '{PREFIX}' followed by base64 of {MIN_KEY_BYTES}-{MAX_KEY_BYTES} random bytes "
            "(the Standard Webhooks format); leave it out and one is generated.",
            code="webhook_secret_invalid",
        )
    return PREFIX + base64.b64encode(key).decode()


def signed_headers(secret: str, message_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """The three headers for one attempt; the timestamp is the attempt's, so a retry is signed afresh."""
    at = at or now()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
