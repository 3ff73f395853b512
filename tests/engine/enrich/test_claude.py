"""Captions and summaries by Claude, against a fake Anthropic API at the HTTP layer (httpx2 transport)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import numpy as np
import pytest
import sqlalchemy as sa

from engine import Engine
from engine.assets import IngestConfig, IngestOptions
from engine.auth import Principal
from engine.catalog import tables
from engine.enrich.claude import ClaudeWriter
from engine.enrich.settings import ClaudeSettings
from tests.engine.enrich.conftest import analysis_settings, jpeg


class FakeAnthropic:
    """Answers /v1/messages like the Anthropic API; fails the first ``failures`` calls with 529."""

    def __init__(self, text: str, failures: int = 0):
        self.text = text
        self.failures = failures
        self.requests: list[dict[str, object]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        credential = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        assert request.url.path == "/v1/messages" and credential.endswith("sk-ant-test")
        self.requests.append(json.loads(request.content))
        if len(self.requests) <= self.failures:
            return httpx2.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
        return httpx2.Response(200, json={
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": self.text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 1000, "output_tokens": 40},
        })


@pytest.fixture
async def claude_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    settings = analysis_settings(tmp_path, auto_summarize=True)
    settings.enrich.claude = ClaudeSettings(api_key="sk-ant-test", attempts=3)
    async with Engine.open(settings) as opened:
        yield opened


def use_fake(engine: Engine, fake: FakeAnthropic) -> None:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(fake))
    engine.enrich.steps.writer = ClaudeWriter(engine.settings.enrich.claude, "sk-ant-test", http_client=client)


async def caption_of(engine: Engine, image: np.ndarray) -> tuple[str, dict[str, object]]:
    owner = Principal(account_id=engine.owner_account_id)
    path = engine.work_dir / "photo.jpg"
    path.write_bytes(jpeg(image))
    asset = await engine.ingest.from_path(owner, path, IngestOptions(config=IngestConfig()))
    assert await engine.enrich.wait_for_asset(owner.account_id, asset.id, 120)
    return asset.id, (await engine.assets.get(owner, asset.id)).ai.model_dump()


async def test_a_key_turns_claude_on(claude_engine: Engine) -> None:
    assert claude_engine.enrich.steps.writer is not None


async def test_claude_writes_the_caption_after_a_retry_and_its_cost_is_ledgered(
    claude_engine: Engine, chelsea: np.ndarray
) -> None:
    fake = FakeAnthropic("A ginger tabby cat looks into the camera.", failures=1)
    use_fake(claude_engine, fake)
    asset_id, ai = await caption_of(claude_engine, chelsea)
    assert ai["caption"] == "A ginger tabby cat looks into the camera." and ai["source"] == "claude"
    assert len(fake.requests) == 2  # one 529, one success
    content = fake.requests[-1]["messages"][0]["content"]  # type: ignore[index]
    assert content[0]["type"] == "image" and base64.b64decode(content[0]["source"]["data"])[:2] == b"\xff\xd8"
    u = tables.usage_events
    async with claude_engine.catalog.connect() as conn:
        row = (await conn.execute(sa.select(u).where(u.c.asset_id == asset_id, u.c.kind == "ai_operation"))).one()
    assert row.detail == {"step": "caption", "model": "claude-sonnet-4-5"}
    assert row.amount_micros == round((1000 * 3.0 + 40 * 15.0))  # 1000 in, 40 out at $3 / $15 per Mtok


async def test_when_claude_keeps_failing_the_offline_caption_is_used(claude_engine: Engine, chelsea: np.ndarray) -> None:
    fake = FakeAnthropic("never", failures=10)
    use_fake(claude_engine, fake)
    _asset_id, ai = await caption_of(claude_engine, chelsea)
    assert len(fake.requests) == 3 and ai["source"] == "offline" and ai["caption"].startswith("An image")
