"""scrape_images through the official MCP client, against the local test site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from engine import Settings
from picsha_mcp.server import PicshaServer
from tests.engine.scrape.site import Site, scrape_settings
from tests.mcp.conftest import error_of, ok


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, site: Site) -> Settings:
    return scrape_settings(tmp_path, site)


async def test_scrape_images_waits_and_answers_assets_with_previews(server: PicshaServer, site: Site) -> None:
    seen: list[str | None] = []

    async def on_progress(_done: float, _total: float | None, message: str | None) -> None:
        seen.append(message)

    async with Client(server) as client:
        result = await client.call_tool("scrape_images", {"url": site.url("/a/1.html"), "max_files": 5, "wait_s": 30},
                                        progress_callback=on_progress)
        answer = ok(result)
        assert answer["status"] == "completed"
        assert answer["urls"] == [site.url("/img/level1.jpg")] and len(answer["asset_ids"]) == 1
        assert [block.type for block in result.content].count("image") == 1  # a capped preview
        assert seen  # progress while it waited
        asset = ok(await client.call_tool("get_asset", {"id": answer["asset_ids"][0]}))
        assert asset["metadata"]["source_url"] == site.url("/img/level1.jpg")


async def test_scrape_images_refuses_bad_input_with_codes(server: PicshaServer) -> None:
    async with Client(server) as client:
        assert error_of(await client.call_tool("scrape_images", {"url": "ftp://example.com/"}))["code"] == \
            "url_scheme_not_allowed"
        assert error_of(await client.call_tool("scrape_images", {"url": "http://169.254.169.254/latest/"}))["code"] == \
            "url_address_not_allowed"
