"""Job settings: which backend runs jobs, how many at once here, and the lease that recovers dead workers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class JobBackend(StrEnum):
    EMBEDDED = "embedded"  # jobs claimed from the catalog by workers in picsha serve / picsha worker
    DISTRIBUTED = "distributed"  # procrastinate on PostgreSQL delivers jobs to picsha worker processes


class JobSettings(BaseModel):
    backend: JobBackend = Field(default=JobBackend.EMBEDDED, description="embedded | distributed.")
    in_process: bool = Field(default=True, description="picsha serve (and picsha mcp) run workers too.")
    workers: int = Field(default=2, ge=1, le=64, description="Jobs run at the same time in one process.")
    max_queued_per_account: int = Field(
        default=1000, ge=1, le=1_000_000,
        description="Jobs one account may have waiting; a request that would queue one more (an upload's analyses, "
        "a skill run, a queued generate or scrape) is refused with 503 jobs_backlog and Retry-After.")
    max_attempts: int = Field(default=3, ge=1, description="Default starts of one job before it fails.")
    lease_s: float = Field(
        default=30.0, ge=1.0, le=3600.0,
        description="A running job's claim; renewed every third of it. A job whose worker died runs again "
        "once this lapses.",
    )
    poll_max_s: float = Field(default=0.5, gt=0, le=5.0, description="Longest idle poll of the catalog (SQLite).")
    keep_days: float = Field(default=30.0, gt=0, description="Finished jobs are kept this long (the job's ttl).")
    upkeep_interval_s: float = Field(
        default=60.0, gt=0, description="How often a process running jobs purges old jobs and collects unheld blobs."
    )
    queue: str = Field(default="picsha", min_length=1, max_length=60, description="The distributed queue's name.")
    distributed_dsn: str | None = Field(
        default=None,
        description="PostgreSQL DSN of the distributed queue; default: the catalog's PostgreSQL database.",
    )
