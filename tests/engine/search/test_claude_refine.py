"""Claude refining parsed filters, against a fake Anthropic API at the HTTP layer."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx2

from engine import Engine
from engine.assets import IngestOptions
from engine.assets.models import AssetType
from engine.auth import Principal
from engine.enrich.claude import ClaudeWriter
from engine.enrich.settings import ClaudeSettings
from engine.search.models import SearchFilters, SearchRequest
from engine.search.refine import ClaudeRefiner
from tests.factories import image_bytes, make_settings


def fake_claude(answer: str, seen: list[dict[str, object]]) -> httpx2.AsyncClient:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json={
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 200, "output_tokens": 20},
        })

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handle))


async def test_claude_fills_filters_the_rules_missed_and_given_filters_still_win(tmp_path: Path) -> None:
    async with Engine.open(make_settings(tmp_path)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        path = engine.work_dir / "snap.png"
        path.write_bytes(image_bytes(20, 20, "png"))
        await engine.ingest.from_path(owner, path, IngestOptions(description="harbour at dusk"))
        seen: list[dict[str, object]] = []
        answer = 'Sure: {"type": "document", "taken_after": "2025-01-01", "place": "Oslo"}'
        writer = ClaudeWriter(ClaudeSettings(), "sk-ant-test", http_client=fake_claude(answer, seen))
        engine.search.refiner = ClaudeRefiner(writer, engine.ledger)

        found = await engine.search.search(owner, SearchRequest(query="harbour", filters=SearchFilters(type="image")))
        assert found.filters.type is AssetType.IMAGE  # the caller's filter beats Claude's
        assert found.filters.taken_after == date(2025, 1, 1) and found.filters.place == "Oslo"
        assert found.results == []  # nothing was made in Oslo
        prompt = seen[0]["messages"][0]["content"][0]["text"]  # type: ignore[index]
        assert '"harbour"' in prompt and '"taken_after"' in prompt and '"uploaded_after"' in prompt
        assert (await engine.ledger.summary(owner.account_id)).breakdown.ai_operations == 1


async def test_an_unreadable_answer_keeps_the_parsed_filters(tmp_path: Path) -> None:
    async with Engine.open(make_settings(tmp_path)) as engine:
        writer = ClaudeWriter(ClaudeSettings(), "sk-ant-test", http_client=fake_claude("no idea", []))
        refined = await ClaudeRefiner(writer, engine.ledger)("acct", "photos", SearchFilters(type="image"))
        assert refined == SearchFilters(type="image")
        bad = ClaudeWriter(ClaudeSettings(), "sk-ant-test", http_client=fake_claude('{"type": "video"}', []))
        assert await ClaudeRefiner(bad, engine.ledger)("acct", "x", SearchFilters()) == SearchFilters()


async def test_claudes_dates_replace_the_parsed_ones_and_old_names_mean_the_upload(tmp_path: Path) -> None:
    async with Engine.open(make_settings(tmp_path)) as engine:
        parsed = SearchFilters(taken_after="2026-11-15")  # what the rules read from "from last week"
        writer = ClaudeWriter(ClaudeSettings(), "sk-ant-test",
                              http_client=fake_claude('{"uploaded_after": "2026-11-15"}', []))
        refined = await ClaudeRefiner(writer, engine.ledger)("acct", "files I added last week", parsed)
        assert refined.uploaded_after == date(2026, 11, 15) and refined.taken_after is None
        old = ClaudeWriter(ClaudeSettings(), "sk-ant-test", http_client=fake_claude('{"date_before": "2025-02-01"}', []))
        refined = await ClaudeRefiner(old, engine.ledger)("acct", "x", SearchFilters())
        assert refined.uploaded_before == date(2025, 2, 1) and refined.taken_before is None
