"""What the webhook routes take and answer: a registration, its deliveries, and a test send."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

TEST_EVENT = "webhook.test"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # queued, or failed and waiting for its next try
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # no try left (or the address is refused): it is not sent again


class WebhookCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="The http(s) endpoint events are POSTed to.")
    secret: str | None = Field(
        default=None, max_length=200,
        description="Signing secret, 'whsec_' + base64 of 24-64 random bytes (Standard Webhooks). "
        "Omitted: one is generated and shown once, in this answer.",
    )
    events: list[str] | None = Field(
        default=None, max_length=50, description="Event types to receive; omitted: all of them."
    )


class Webhook(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    failure_streak: int = Field(ge=0, description="Deliveries in a row that failed for good.")
    disabled_reason: str | None = Field(default=None, description="Why Picsha stopped sending to it.")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="Verifies the signatures; shown only here.")


class WebhookTest(BaseModel):
    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, max_length=200, description="Omitted: a fresh one, in the answer.")


class WebhookTestResult(BaseModel):
    url: str
    ok: bool = Field(description="The receiver answered 2xx.")
    status_code: int | None = Field(default=None, description="The receiver's HTTP status, when it answered.")
    error: str | None = Field(default=None, description="Why the send failed.")
    message_id: str = Field(description="The webhook-id header that was sent.")
    secret: str | None = Field(default=None, description="The generated secret, when none was given.")


class Delivery(BaseModel):
    id: str = Field(description="Also the webhook-id header: the same on every try, for deduplication.")
    webhook_id: str
    event: str
    status: DeliveryStatus
    attempts: int = Field(ge=0)
    last_status_code: int | None = None
    last_error: str | None = None
    job_id: str | None = None
    payload: dict[str, Any] = Field(description="The JSON body: type, timestamp, data.")
    created_at: datetime
    updated_at: datetime


class DeliveryPage(BaseModel):
    items: list[Delivery] = Field(description="Newest first.")
    next_before: str | None = Field(
        default=None, description="Pass as 'before' for the next (older) page; null on the last one."
    )
