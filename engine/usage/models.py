"""What ``GET /v1/usage`` answers: the picsha spec's shape, plus breakdowns by API key and by day."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class GenerationUsage(BaseModel):
    images: int = 0
    spend: str = "$0.0000"


class UsageBreakdown(BaseModel):
    storage_gb: float = Field(description="GB stored now.")
    storage_gb_hours: float = Field(default=0.0, description="GB-hours held this month (what storage is billed on).")
    storage_spend: str = Field(default="$0.0000", description="The month's storage so far, per GB-month held.")
    ai_operations: int
    bandwidth_gb: float
    generation: GenerationUsage = Field(default_factory=GenerationUsage, description="Generated images and their cost.")


class KeyUsage(BaseModel):
    key_id: str | None = Field(description="The API key whose requests did it; null: work no key request did "
                               "(background analyses, the CLI) and storage, which is the account's.")
    spend: str = "$0.0000"
    ai_operations: int = 0
    bandwidth_gb: float = 0.0
    renders: int = 0
    generated_images: int = 0


class DayUsage(BaseModel):
    date: dt.date
    spend: str = Field(default="$0.0000", description="Everything that day, storage included.")
    storage_gb_hours: float = 0.0
    ai_operations: int = 0
    bandwidth_gb: float = 0.0


class UsageSummary(BaseModel):
    period: str
    period_start: dt.datetime
    total_spend: str = Field(description="The month so far, in dollars and cents (\"$4.12\").")
    total_spend_exact: str = Field(default="$0.0000", description="The same to a hundredth of a cent.")
    currency: str = "USD"
    breakdown: UsageBreakdown
    by_key: list[KeyUsage] = Field(default_factory=list)
    by_day: list[DayUsage] = Field(default_factory=list, description="Each UTC day of the month so far.")
