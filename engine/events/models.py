"""The events Picsha announces. Webhooks, the search index and progress streams subscribe to these."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from engine.catalog.database import now


class EventType(StrEnum):
    ASSET_READY = "asset.ready"
    ASSET_FAILED = "asset.failed"
    ASSET_UPDATED = "asset.updated"
    ASSET_DELETED = "asset.deleted"
    ASSET_TRASHED = "asset.trashed"  # hidden in the trash; asset.deleted follows when it is purged
    ASSET_RESTORED = "asset.restored"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"


class Event(BaseModel):
    type: EventType
    account_id: str
    data: dict[str, Any] = Field(default_factory=dict, description="asset_id, job_id, status, ... by type.")
    timestamp: datetime = Field(default_factory=now)
