"""run_pipeline over the official MCP client: steps chained by references, progress per step, errors."""

from __future__ import annotations

import pytest
from mcp import Client

from engine import Engine
from engine.auth import Principal
from engine.errors import NotFound
from picsha_mcp.server import PicshaServer, build_server
from tests.mcp.conftest import error_of, ok, upload
from tools_manifest.calls import Transport


async def test_a_pipeline_chains_tools_and_reports_each_step(server: PicshaServer) -> None:
    heard: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        heard.append((done, message))

    async with Client(server) as client:
        photo = await upload(client, 800, 600, name="lighthouse.jpg", tags=["coast"])
        answer = ok(await client.call_tool("run_pipeline", {"steps": [
            {"name": "listed", "action": "list_assets", "params": {"page_size": 1, "fields": ["tags"]}},
            {"name": "tag", "action": "update_asset", "params": {"id": "$listed.items.0.id", "tags": ["$listed.items.0.tags.0", "lit"]}},
            {"name": "small", "action": "render_asset", "params": {"id": "$tag.id", "w": 80, "preview": "none"}},
        ]}, progress_callback=on_progress))
        refused = error_of(await client.call_tool("run_pipeline", {"steps": [
            {"name": "listed", "action": "list_assets", "params": {}},
            {"name": "get", "action": "get_asset", "params": {"id": "$listed.item.0.id"}},
        ]}))
    assert answer["success"] is True and answer["pipeline"]["steps_ok"] == 3
    tagged = answer["pipeline"]["steps"][1]["output"]
    assert tagged["id"] == photo["id"] and tagged["tags"] == ["coast", "lit"]
    assert answer["pipeline"]["result"]["width"] == 80
    assert heard == [(1, "listed: ok"), (2, "tag: ok"), (3, "small: ok")]
    assert refused["code"] == "pipeline_reference_invalid" and refused["step"] == "get"
    assert "its fields: items, page, page_size, total" in refused["message"]


async def test_list_assets_with_q_runs_the_hybrid_search(server: PicshaServer) -> None:
    async with Client(server) as client:
        await upload(client, 60, 40, name="IMG_0001.jpg", description="boats in the harbour at dusk")
        await upload(client, 60, 40, name="harbour-notes.jpg", description="a shopping list")
        await upload(client, 60, 40, name="IMG_0003.jpg", description="cats asleep")
        found = ok(await client.call_tool("list_assets", {"q": "boats at dusk"}))
        # a substring match on the filename or description would find nothing for these words together
    assert [row["filename"] for row in found["items"]][:1] == ["IMG_0001.jpg"]
    assert "IMG_0003.jpg" not in [row["filename"] for row in found["items"]]


async def test_image_tools_for_agents(server: PicshaServer) -> None:
    async with Client(server) as client:
        listed = ok(await client.call_tool("list_image_tools", {}))
        one = ok(await client.call_tool("list_image_tools", {"tool": "compress"}))
        photo = await upload(client, 400, 300, name="pier.jpg")
        made = await client.call_tool("run_image_tool", {"tool": "resize", "settings": {"width": 100},
                                                          "asset_ids": [photo["id"]]})
        chained = ok(await client.call_tool("run_pipeline", {"steps": [
            {"name": "square", "action": "crop", "params": {"asset_ids": [photo["id"]], "settings": {"width": 200, "height": 200}}},
            {"name": "png", "action": "convert", "params": {"asset_ids": "$square.asset_ids", "settings": {"format": "png"}}},
        ]}))["pipeline"]["result"]
        bad = error_of(await client.call_tool("run_image_tool", {"tool": "sparkle", "asset_ids": [photo["id"]]}))
        acted = ok(await client.call_tool("run_pipeline", {"steps": [
            {"name": "find", "action": "list_assets", "params": {"page_size": 1, "order": "asc"}},
            {"name": "small", "action": "rotate", "params": {"asset_ids": ["$find.items.0.id"], "settings": {"angle": 90}}},
        ]}))
    assert {"resize", "crop", "compress"} <= {tool["id"] for tool in listed["tools"]} and listed["settings"] is None
    assert "targetSizeKB" in one["settings"]["properties"] and one["example"] == {"targetSizeKB": 200}
    assert not made.is_error and [block.type for block in made.content][-1] == "image"  # a capped preview
    resized = made.structured_content
    assert resized["assets"][0]["px"] == "100x75" and resized["assets"][0]["filename"] == "pier.jpg"
    assert chained["assets"][0]["px"] == "200x200" and chained["assets"][0]["filename"] == "pier.png"
    # (the crop's own result is an asset too: a chain through run_pipeline keeps each step's output)
    assert bad["code"] == "tool_not_found" and "resize" in bad["message"]
    assert acted["success"] is True and acted["pipeline"]["result"]["assets"][0]["px"] == "300x400"


async def test_a_saved_pipeline_is_an_action(server: PicshaServer, engine: Engine, owner: Principal) -> None:
    saved = await engine.pipelines.save(owner, name="thumbs", description=None, steps=[
        {"toolId": "resize", "settings": {"width": 64}}, {"toolId": "convert", "settings": {"format": "webp"}}])
    async with Client(server) as client:
        photo = await upload(client, 256, 128, name="dune.jpg")
        ran = ok(await client.call_tool("run_pipeline", {"steps": [
            {"name": "thumb", "action": saved.id, "params": {"asset_ids": [photo["id"]]}}]}))
        missing = error_of(await client.call_tool("run_pipeline", {"steps": [
            {"name": "x", "action": "pl_nothing", "params": {"asset_ids": [photo["id"]]}}]}))
    made = ran["pipeline"]["result"]["assets"][0]
    assert made["px"] == "64x32" and made["filename"] == "dune.webp"
    assert missing["code"] == "pipeline_not_found"


async def test_chosen_image_tools_can_be_listed_one_by_one(engine: Engine) -> None:
    server = build_server(engine, transport=Transport.STDIO, image_tools=["compress", "qr-generate"])
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        photo = await upload(client, 300, 200, name="quay.jpg")
        made = ok(await client.call_tool("compress", {"asset_ids": [photo["id"]], "settings": {"format": "webp"},
                                                      "preview": "none"}))
        bad = error_of(await client.call_tool("compress", {"asset_ids": [photo["id"]], "settings": {"quality": 0}}))
    settings = tools["compress"].input_schema["properties"]["settings"]
    assert "targetSizeKB" in settings["properties"] and "run_image_tool" in tools
    assert made["assets"][0]["filename"] == "quay.webp" and made["assets"][0]["px"] == "300x200"
    assert "quality" in bad["message"]
    with pytest.raises(NotFound) as unknown:
        build_server(engine, transport=Transport.STDIO, image_tools=["sparkle"])
    assert "resize" in unknown.value.message
