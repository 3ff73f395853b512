"""What the model reads in tools/list: described fields, no HTTP-only parameters, no schema said twice."""

from __future__ import annotations

from typing import Any

from mcp import Client

from picsha_mcp.server import PicshaServer
from tests.mcp.conftest import upload


def undescribed(node: Any, path: str = "") -> list[str]:
    missing: list[str] = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if "description" not in sub:
                missing.append(f"{path}{name}")
            missing += undescribed(sub, f"{path}{name}.")
        for option in node.get("anyOf") or []:
            missing += undescribed(option, path)
    return missing


async def test_the_listed_schemas_are_described_and_said_once(server: PicshaServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    upload = tools["upload_asset"].input_schema
    assert undescribed(upload) == [] and "config" in upload["properties"]
    config = upload["properties"]["config"]
    assert set(config["properties"]) >= {"auto_tag", "ocr", "vectorize"} and config["type"] == "object"
    assert "Per-upload" not in str(config)  # the model's docstring is not repeated under the field's description
    assert upload["properties"]["url"]["type"] == "string"  # optional: left out, not null
    assert upload["properties"]["wait_s"]["maximum"] == 60
    assert upload["properties"]["on_duplicate"]["enum"] == ["keep", "reuse"]

    render = tools["render_asset"].input_schema["properties"]
    assert "download" not in render and render["preview"]["default"] == "thumb"

    asset_schemas = [name for name, tool in tools.items() if tool.output_schema and "meta" in tool.output_schema["properties"]]
    assert asset_schemas == ["get_asset"]  # upload, update and delete say "Output: as get_asset."
    assert all("Output: as get_asset." in tools[name].description for name in ("upload_asset", "update_asset"))


async def test_old_names_and_covered_tools_are_not_shown_but_still_work(server: PicshaServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        filters = tools["search_assets"].input_schema["properties"]["filters"]["properties"]
        assert "uploaded_after" in filters and "date_after" not in filters  # the picsha spec's old name
        assert filters["taken_after"]["type"] == "string" and "ISO date or time" in filters["taken_after"]["description"]
        render = tools["render_asset"]
        crop = render.input_schema["properties"]["crop"]
        assert crop["items"] == {"type": "integer"} and crop["minItems"] == crop["maxItems"] == 4
        assert "watermark" not in render.input_schema["properties"] and "_opacity" in render.description
        assert "get_job" not in tools and "0: not at all" in tools["wait_job"].description
        found = await client.call_tool("search_assets", {"filters": {"date_after": "2020-01-01"}})
        assert not found.is_error and found.structured_content["filters"]["uploaded_after"] == "2020-01-01"
        photo = await upload(client, 80, 60)
        marked = await client.call_tool("render_asset", {"id": photo["id"], "w": 40, "watermark": "(c)", "preview": "none"})
        assert not marked.is_error  # named in the description, accepted though not spelled out in the schema
        missing = await client.call_tool("get_job", {"job_id": "job_nosuchjob"})
        assert missing.is_error and "job_not_found" in missing.content[0].text  # type: ignore[union-attr]
