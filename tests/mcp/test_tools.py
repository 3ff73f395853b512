"""Every registry tool through the official client in memory: schemas, results and error paths."""

from __future__ import annotations

import base64
from pathlib import Path

import jsonschema
import pytest
from mcp import Client
from mcp_types import ImageContent, ResourceLink

from engine import Engine
from engine.auth import Principal
from picsha_mcp.server import PicshaServer, build_server
from tests.factories import image_bytes
from tests.mcp.conftest import error_of, ok, upload
from tools_manifest.calls import Transport
from tools_manifest.registry import all_tools


async def test_list_matches_the_registry_with_annotations(server: PicshaServer) -> None:
    async with Client(server) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert list(listed) == [spec.id for spec in all_tools() if spec.listed]
        delete = listed["organize_assets"].annotations  # hints left out mean MCP's defaults (destructive, ...)
        assert delete is not None and delete.destructive_hint is None and delete.read_only_hint is None
        assert delete.idempotent_hint is True and delete.open_world_hint is False
        get = listed["get_asset"].annotations
        assert get is not None and get.read_only_hint is True and get.open_world_hint is False
        assert get.destructive_hint is None  # meaningless for a read-only tool
        upload = listed["upload_asset"].annotations
        assert upload is not None and upload.destructive_hint is False and upload.open_world_hint is None
        for tool in listed.values():
            assert "Example:" in (tool.description or "")
            shared = "Output: as " in (tool.description or "")  # an output schema is published once
            assert (tool.output_schema is None) == shared and tool.input_schema["type"] == "object"
            if "id" in tool.input_schema.get("properties", {}):
                assert tool.input_schema["properties"]["id"]["pattern"].startswith("^as_")


async def test_upload_get_update_list_delete(server: PicshaServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        asset = await upload(client, 320, 200, tags=["cats"], description="a gradient")
        assert asset["type"] == "image" and asset["meta"]["width"] == 320 and asset["tags"] == ["cats"]
        jsonschema.validate(asset, tools["get_asset"].output_schema)  # upload_asset's output: as get_asset

        got = ok(await client.call_tool("get_asset", {"id": asset["id"]}))
        assert got["id"] == asset["id"] and got["description"] == "a gradient"

        updated = ok(await client.call_tool("update_asset", {"id": asset["id"], "tags": ["dogs"], "alt_text": "dog"}))
        assert updated["tags"] == ["dogs"] and updated["alt_text"] == "dog" and updated["description"] == "a gradient"

        await upload(client, 64, 64, name="second.jpg")
        page = ok(await client.call_tool("list_assets", {"page_size": 1, "sort": "size", "order": "asc"}))
        assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["filename"] == "second.jpg"
        smallest = ok(await client.call_tool("search_assets", {"sort": "smallest", "limit": 1}))
        assert smallest["total"] == 2 and [row["filename"] for row in smallest["results"]] == ["second.jpg"]
        jsonschema.validate(smallest, tools["search_assets"].output_schema)

        refused = await client.call_tool("delete_asset", {"id": asset["id"]})
        assert error_of(refused)["code"] == "confirmation_required"
        assert ok(await client.call_tool("get_asset", {"id": asset["id"]}))["id"] == asset["id"]
        deleted = ok(await client.call_tool("delete_asset", {"id": asset["id"], "confirm": True}))
        assert deleted["id"] == asset["id"]
        gone = await client.call_tool("get_asset", {"id": asset["id"]})
        assert error_of(gone) == {"code": "asset_not_found", "message": f"No asset {asset['id']!r} in this account.",
                                  "id": asset["id"]}


async def test_errors_carry_the_rest_code_and_message(server: PicshaServer) -> None:
    async with Client(server) as client:
        none = error_of(await client.call_tool("upload_asset", {"tags": ["x"]}))
        assert none["code"] == "asset_file_required" and "url, base64, path" in none["message"]
        two = error_of(await client.call_tool("upload_asset", {"url": "https://example.com/a.jpg", "base64": "AAAA"}))
        assert two["code"] == "asset_file_required"
        no_name = error_of(await client.call_tool("upload_asset", {"base64": "AAAA"}))
        assert no_name["code"] == "asset_filename_required"
        bad_bytes = error_of(await client.call_tool("upload_asset", {"base64": "not base64!", "filename": "a.png"}))
        assert bad_bytes["code"] == "asset_base64_invalid"
        text = base64.b64encode(b"\x00\x01binary junk").decode()
        junk = error_of(await client.call_tool("upload_asset", {"base64": text, "filename": "a.exe"}))
        assert junk["code"] == "asset_content_type_not_allowed"
        private = error_of(await client.call_tool("upload_asset", {"url": "http://127.0.0.1/a.png"}))
        assert private["code"].startswith("url_")
        invalid = error_of(await client.call_tool("list_assets", {"page_size": 1000}))
        assert invalid["code"] == "invalid_request" and "page_size" in invalid["message"]
        bad_id = error_of(await client.call_tool("get_asset", {"id": "../etc/passwd"}))
        assert bad_id["code"] == "invalid_request" and "id" in bad_id["message"]
        unknown = error_of(await client.call_tool("no_such_tool", {}))
        assert unknown["code"] == "tool_not_found" and "get_asset" in unknown["message"]


async def test_path_upload_only_on_stdio(engine: Engine, tmp_path: Path) -> None:
    picture = tmp_path / "local.png"
    picture.write_bytes(image_bytes(50, 40, "png"))
    engine.settings.ingest.path_roots = [tmp_path]
    async with Client(build_server(engine, transport=Transport.STDIO)) as local:
        asset = ok(await local.call_tool("upload_asset", {"path": str(picture)}))
        assert asset["filename"] == "local.png" and asset["meta"]["width"] == 50
        missing = error_of(await local.call_tool("upload_asset", {"path": str(tmp_path / "nope.png")}))
        assert missing["code"] == "asset_file_required"

    async def owner(engine: Engine, _request: object) -> Principal:
        return Principal(account_id=engine.owner_account_id)

    remote_server = build_server(engine, transport=Transport.HTTP, authenticate=owner)
    async with Client(remote_server) as remote:
        refused = error_of(await remote.call_tool("upload_asset", {"path": str(picture)}))
    assert refused["code"] == "asset_path_not_allowed" and "stdio" in refused["message"]


async def test_render_asset_gives_url_link_and_capped_preview(server: PicshaServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        asset = await upload(client, 800, 600)
        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        result = await client.call_tool(
            "render_asset", {"id": asset["id"], "w": 256, "h": 256, "fit": "cover", "format": "webp"},
            progress_callback=on_progress,
        )
        out = ok(result)
        jsonschema.validate(out, tools["render_asset"].output_schema)
        assert out["width"] == 256 and out["height"] == 256 and out["format"] == "webp"
        summary = {"id": asset["id"], "filename": "photo.jpg", "type": "image", "width": 800, "height": 600}
        assert out["asset"] == summary
        assert "sig=" in out["url"] and "/render?" in out["url"]
        links = [block for block in result.content if isinstance(block, ResourceLink)]
        images = [block for block in result.content if isinstance(block, ImageContent)]
        assert [str(link.uri) for link in links] == [out["resource_uri"]]
        assert len(images) == 1 and images[0].mime_type == "image/webp"
        assert base64.b64decode(images[0].data)[8:12] == b"WEBP"
        assert progress and progress[-1][0] > progress[0][0]

        bad = error_of(await client.call_tool("render_asset", {"id": asset["id"], "fit": "squash"}))
        assert bad["code"] == "invalid_request" and "fit" in bad["message"]
        missing = error_of(await client.call_tool("render_asset", {"id": "as_missing", "w": 10}))
        assert missing["code"] == "asset_not_found"


async def test_upload_reports_progress_when_asked(server: PicshaServer) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    data = base64.b64encode(image_bytes(100, 100)).decode()
    async with Client(server) as client:
        quiet = await client.call_tool("upload_asset", {"base64": data, "filename": "a.jpg"})
        told = await client.call_tool(
            "upload_asset", {"base64": data, "filename": "b.jpg"}, progress_callback=on_progress
        )
    assert ok(quiet) and ok(told)
    assert seen == [(0, 1, "storing"), (1, 1, "stored")]


async def test_get_usage_reads_the_ledger(server: PicshaServer) -> None:
    async with Client(server) as client:
        before = ok(await client.call_tool("get_usage", {}))
        await upload(client, 1200, 900)
        after = ok(await client.call_tool("get_usage", {}))
        assert before["breakdown"]["storage_gb"] == 0 and after["breakdown"]["storage_gb"] > 0
        assert after["period"] == "current_month"
        extra = error_of(await client.call_tool("get_usage", {"month": "2020-01"}))
        assert extra["code"] == "invalid_request"


@pytest.mark.parametrize("tool", [spec.id for spec in all_tools()])
async def test_every_tool_answers_bad_input_with_an_error_result(server: PicshaServer, tool: str) -> None:
    async with Client(server) as client:
        result = await client.call_tool(tool, {"id": 12, "no_such_field": True})
        assert error_of(result)["code"] in {"invalid_request", "asset_file_required"}
