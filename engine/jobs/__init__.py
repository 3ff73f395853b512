"""Background jobs: rows in the catalog, claimed with a lease by workers in any process, on one of two backends."""

from engine.jobs.context import JobCancelled, JobContext
from engine.jobs.models import Job, JobPolicy, JobProgress, JobStatus, StepResult
from engine.jobs.runner import Dispatcher, JobKind, JobRunner, tracked_kind
from engine.jobs.settings import JobBackend, JobSettings

__all__ = [
    "Dispatcher", "Job", "JobBackend", "JobCancelled", "JobContext", "JobKind", "JobPolicy", "JobProgress",
    "JobRunner", "JobSettings", "JobStatus", "StepResult",
    "tracked_kind",
]
