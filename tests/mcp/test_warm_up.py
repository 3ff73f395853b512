"""``picsha mcp`` over stdio warms its models in the background: the first calls answer, meaning follows."""

from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.factories import image_bytes
from tests.mcp.conftest import ok

PICSHA = str(Path(sys.executable).with_name("picsha"))
ONLY_VECTORS = {  # no OCR, faces or NSFW models: the words and their MiniLM vector
    "PICSHA_ENRICH__DEFAULTS__AUTO_TAG": "false", "PICSHA_ENRICH__DEFAULTS__SAFE_SEARCH": "false",
    "PICSHA_ENRICH__DEFAULTS__OCR": "false", "PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE": "false",
    "PICSHA_ENRICH__DEFAULTS__VECTORIZE": "true",
}


def params(data_dir: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSHA_")}
    return StdioServerParameters(command=PICSHA, args=["mcp"], env=env | {"PICSHA_DATA_DIR": str(data_dir), **ONLY_VECTORS})


def by_meaning(answer: dict[str, Any]) -> bool:
    return not answer.get("warming") and any("meaning" in hit["why"] for hit in answer["results"])


@pytest.mark.slow
async def test_a_new_session_answers_its_first_calls_and_finds_by_meaning_once_warm(tmp_path: Path) -> None:
    data = base64.b64encode(image_bytes(120, 80)).decode()
    async with Client(params(tmp_path / "data")) as client:
        asset = ok(await client.call_tool("upload_asset", {
            "base64": data, "filename": "beach.jpg", "description": "Waves on a sandy beach by the sea",
            "config": {"vectorize": True}, "wait_s": 60,
        }))
    # A second process on the same folder: its first calls come straight after initialize.
    async with Client(params(tmp_path / "data")) as client:
        first = ok(await client.call_tool("search_assets", {"query": "the seaside"}))
        updated = ok(await client.call_tool("update_asset", {"id": asset["id"], "tags": ["sea"]}))
        assert first.get("warming") in (None, ["text_vector"])  # meaning answers now or is named as warming
        deadline = time.monotonic() + 60
        answer = first
        while not by_meaning(answer) and time.monotonic() < deadline:
            await anyio.sleep(0.2)
            answer = ok(await client.call_tool("search_assets", {"query": "the seaside"}))
    assert updated["tags"] == ["sea"]
    assert by_meaning(answer) and [hit["id"] for hit in answer["results"]] == [asset["id"]]
