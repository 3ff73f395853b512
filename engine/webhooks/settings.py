"""Webhook settings: how long a receiver may take, how often a delivery is tried, when a webhook is disabled."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookSettings(BaseModel):
    timeout_s: float = Field(default=10.0, gt=0, le=60, description="Longest one delivery attempt may take.")
    attempts: int = Field(
        default=33, ge=1, le=100,
        description="Tries of one delivery; with the default backoff (5 s doubling, at most an hour apart) the "
        "last is about a day (23.4 h) after the first.",
    )
    backoff_s: float = Field(default=5.0, gt=0, description="Wait before the second try; doubled after each.")
    backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest wait between two tries.")
    disable_after: int = Field(
        default=5, ge=1, description="Deliveries in a row that failed for good before the webhook is disabled."
    )
    max_per_account: int = Field(default=20, ge=1, le=1000, description="Webhooks one account may register.")
