"""Standard Webhooks signatures and secrets, checked against the reference receiver library and by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from engine.errors import InvalidInput
from engine.webhooks.signing import checked_secret, new_secret, signed_headers


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert secret != new_secret()


def test_headers_verify_with_standardwebhooks_and_match_the_hmac_by_hand() -> None:
    secret, body = new_secret(), '{"type":"asset.ready","data":{"asset_id":"as_1"}}'
    headers = signed_headers(secret, "msg_abc", body)
    assert Webhook(secret).verify(body, headers) == {"type": "asset.ready", "data": {"asset_id": "as_1"}}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"msg_abc.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}" and headers["webhook-id"] == "msg_abc"


def test_a_changed_body_or_another_secret_does_not_verify() -> None:
    secret, body = new_secret(), '{"a":1}'
    headers = signed_headers(secret, "msg_x", body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_the_timestamp_is_the_attempts_own() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert signed_headers(new_secret(), "msg_t", "{}", at)["webhook-timestamp"] == str(int(at.timestamp()))


def test_given_secrets_are_normalized_or_refused() -> None:
    raw = base64.b64encode(bytes(range(32))).decode()
    assert checked_secret(raw) == f"whsec_{raw}" == checked_secret(f"whsec_{raw}")
    for bad in ("my-signing-secret", "whsec_" + base64.b64encode(b"short").decode(), "whsec_", "whsec_!!!!"):
        with pytest.raises(InvalidInput) as refused:
            checked_secret(bad)
        assert refused.value.code == "webhook_secret_invalid" and "base64" in refused.value.message
