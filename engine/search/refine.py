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
"type" ("image", "document" or "text"), "date_after" and "date_before" (YYYY-MM-DD), "place" (a place name),
"tags" (a list of words the user calls tags)."""
REFINABLE = ("type", "date_after", "date_before", "place", "tags")


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
            update = SearchFilters.model_validate({k: v for k, v in found.items() if k in REFINABLE})
        except (json.JSONDecodeError, ValidationError, AttributeError):
            return filters
        return filters.model_copy(update=update.model_dump(exclude_defaults=True))
