"""run_pipeline over the official MCP client: steps chained by references, progress per step, errors."""

from __future__ import annotations

from mcp import Client

from picsha_mcp.server import PicshaServer
from tests.mcp.conftest import error_of, ok, upload


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
