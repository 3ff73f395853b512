"""Why a URL was not stored: raised where it is found out, recorded once by the crawl."""

from __future__ import annotations

from engine.scrape.models import SkipReason


class Skip(Exception):
    def __init__(self, reason: SkipReason, detail: str | None = None):
        super().__init__(detail or reason.value)
        self.reason = reason
        self.detail = detail
