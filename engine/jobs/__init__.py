"""Background jobs: persisted in the catalog, run in-process, resumed after a restart."""

from engine.jobs.context import JobContext
from engine.jobs.models import Job, JobStatus, StepResult
from engine.jobs.runner import JobRunner
from engine.jobs.settings import JobSettings

__all__ = ["Job", "JobContext", "JobRunner", "JobSettings", "JobStatus", "StepResult"]
