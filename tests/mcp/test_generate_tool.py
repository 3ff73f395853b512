"""``generate_image`` through the official MCP client: new assets, their URLs, capped previews, errors by code."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import ImageContent
from PIL import Image

from engine import Settings
from picsha_mcp.server import PicshaServer
from tests.factories import make_settings
from tests.fake_providers import Fakes, fake_providers
from tests.mcp.conftest import error_of, ok
from tools_manifest.views import THUMB_PX


@pytest.fixture(scope="module")
def providers() -> Iterator[Fakes]:
    with fake_providers() as fakes:
        yield fakes


@pytest.fixture
def settings(tmp_path: Path, providers: Fakes) -> Settings:
    providers.reset()
    configured = make_settings(tmp_path, generate=providers.settings(order=["openai"]))
    configured.ingest.fetch_allow_private = True
    return configured


async def test_generate_image_returns_assets_and_previews(server: PicshaServer, providers: Fakes) -> None:
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "a lighthouse at dusk", "style": "cinematic",
                                                           "orientation": "square", "count": 2})
        out = ok(result)
        assert out["provider"] == "openai" and len(out["asset_ids"]) == 2 and len(out["urls"]) == 2
        assert out["cost"] == "$0.0161"
        previews = [block for block in result.content if isinstance(block, ImageContent)]
        assert len(previews) == 2
        assert all(max(Image.open(io.BytesIO(base64.b64decode(p.data))).size) <= THUMB_PX for p in previews)
        asset = ok(await client.call_tool("get_asset", {"id": out["asset_ids"][0]}))
        assert asset["metadata"]["source"] == "generated"
    assert providers.openai.posts()[0].body["size"] == "1024x1024"


async def test_generate_image_errors_name_their_code(server: PicshaServer, providers: Fakes) -> None:
    providers.openai.mode = "refuse"
    async with Client(server) as client:
        refused = error_of(await client.call_tool("generate_image", {"prompt": "something unsafe"}))
        assert refused["code"] == "generate_refused"
        bad = await client.call_tool("generate_image", {"prompt": "a cat", "style": "baroque"})
        assert bad.is_error and "professional" in bad.content[0].text  # type: ignore[union-attr]
