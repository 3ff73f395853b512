"""Job runner settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class JobSettings(BaseModel):
    workers: int = Field(default=1, ge=1, le=32, description="Jobs run at the same time in this process.")
    max_attempts: int = Field(default=3, ge=1, description="Starts of one job (restarts included) before it fails.")
