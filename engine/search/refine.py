"""Claude refines the filters the rule-based parser lifted from a query (only when a key is set)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from pydantic import ValidationError

from engine.enrich import ClaudeWriter
from engine.search.models import SearchFilters
from engine.usage import UsageKind, UsageLedger

PROMPT = """Today is {today}. A user searches their media library with: "{query}"
A rule-based parser read these filters: {parsed}
Reply with only a JSON object with the keys the query clearly states (omit the others):
"type" ("image", "document" or "text"),
"taken_after" and "taken_before" (YYYY-MM-DD, when the photo was taken or the file made: "from June 2024",
"in 2023", "last summer"; seasons are Northern-hemisphere meteorological ones, winter is December to February),
"uploaded_after" and "uploaded_before" (YYYY-MM-DD, only when the query speaks of uploading or adding files:
"uploaded last week", "added yesterday"),
"place" (a place name), "tags" (a list of words the user calls tags).
Each "after" date is included, each "before" date is not."""
REFINABLE = ("type", "taken_after", "taken_before", "uploaded_after", "uploaded_before", "place", "tags")
DATES = ("taken_after", "taken_before", "uploaded_after", "uploaded_before")


class ClaudeRefiner:
    def __init__(self, writer: ClaudeWriter, ledger: UsageLedger):
        self.writer = writer
        self.ledger = ledger

    async def __call__(self, account_id: str, query: str, filters: SearchFilters) -> SearchFilters:
        """The parsed filters with Claude's reading laid over them; unreadable answers change nothing."""
        parsed = filters.model_dump(mode="json", include=set(REFINABLE), exclude_defaults=True)
        today = datetime.now(UTC).date().isoformat()
        written = await self.writer.ask([{"type": "text", "text": PROMPT.format(today=today, query=query, parsed=json.dumps(parsed))}])
        await self.ledger.record(account_id=account_id, kind=UsageKind.AI_OPERATION, quantity=1,
                                 cost_usd=written.cost_usd, detail={"step": "query_refine", "model": written.model})
        match = re.search(r"\{.*\}", written.text, re.S)
        try:
            found = json.loads(match.group(0)) if match else {}
            # an answer in the old names (date_after/date_before) still means the upload time
            found = {("uploaded" + k[4:] if k in ("date_after", "date_before") else k): v for k, v in found.items()}
            update = SearchFilters.model_validate({k: v for k, v in found.items() if k in REFINABLE})
        except (json.JSONDecodeError, ValidationError, AttributeError):
            return filters
        changes = update.model_dump(exclude_defaults=True)
        if any(key in changes for key in DATES):  # Claude's reading of the dates replaces the rules', not mixes with it
            changes = {key: None for key in DATES} | changes
        return filters.model_copy(update=changes)
