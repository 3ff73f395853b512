"""Settings of resumable (TUS) uploads: expiry, retention, per-account caps, the write lease, CORS."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UploadSettings(BaseModel):
    """The largest upload is the ingest limit (``ingest.max_bytes``): a finished upload is ingested like any file."""

    expire_after_s: int = Field(
        default=24 * 3600, ge=1, description="An unfinished upload idle this long is removed with its bytes."
    )
    keep_finished_s: int = Field(
        default=7 * 24 * 3600, ge=1, description="How long the status of a finished or failed upload is kept."
    )
    sweep_interval_s: float = Field(default=60.0, gt=0, description="How often expired uploads are removed.")
    max_unfinished_per_account: int = Field(default=50, ge=1, description="Concurrent unfinished uploads per account.")
    lease_s: float = Field(
        default=120.0, gt=0,
        description="A writer's hold on an upload; renewed on a timer while a PATCH runs, freed on a crash.",
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Origins browsers may upload from ('*': any)."
    )
