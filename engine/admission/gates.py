"""Per-class admission gates: a count of requests in progress, a limit, and Busy beyond it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import BaseModel, Field

from engine.errors import Busy


class AdmissionSettings(BaseModel):
    """Requests of each class a server process works on at once (running or waiting inside); one more is
    answered 503 with Retry-After at once. Per process: ``picsha serve --workers N`` admits N times as many."""

    uploads: int = Field(default=8, ge=1, le=10_000, description="Uploads (POST /v1/assets, TUS PATCH) in progress.")
    searches: int = Field(default=16, ge=1, le=10_000, description="Searches (POST /v1/search, GET /v1/assets?q=).")
    analyses: int = Field(default=4, ge=1, le=10_000, description="Analyses asked for (skill runs, uploads waiting on theirs).")
    retry_after_s: int = Field(default=1, ge=1, le=600, description="Retry-After sent with a refusal.")
    compute_nice: int = Field(
        default=5, ge=0, le=19, description="A server process's threads that do not answer requests (renders, "
        "embeddings, previews, in-process analyses) run this much nicer than its event loop, so cheap requests "
        "are answered first under load (Linux; 0: all alike).")
    freeze_heap: bool = Field(
        default=True, description="A server process collects once at start and freezes what survives, so the "
        "full garbage collections under load walk only newer objects instead of stalling every request for "
        "tens to hundreds of ms.")
    refreeze_after_ms: float = Field(
        default=20.0, ge=1, le=10_000, description="A full collection slower than this freezes its survivors "
        "too (after lazy imports or model loads).")


class Gate:
    def __init__(self, name: str, limit: int, *, retry_after_s: int = 1):
        self.name, self.limit, self.retry_after_s = name, limit, retry_after_s
        self.active = 0
        self.refused = 0

    @asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        """Hold one place while the block runs; ``Busy`` when every place is taken (checked before any work:
        an upload is refused before its body is read)."""
        if self.active >= self.limit:
            self.refused += 1
            raise Busy(
                f"The server is working on {self.limit} {self.name} requests already; retry in {self.retry_after_s} s.",
                code=f"{self.name}_busy", retry_after=self.retry_after_s, limit=self.limit,
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


class Admission:
    def __init__(self, settings: AdmissionSettings | None = None):
        settings = settings or AdmissionSettings()
        retry = settings.retry_after_s
        self.uploads = Gate("upload", settings.uploads, retry_after_s=retry)
        self.searches = Gate("search", settings.searches, retry_after_s=retry)
        self.analyses = Gate("analysis", settings.analyses, retry_after_s=retry)
