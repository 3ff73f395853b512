"""What the model reads in tools/list: described fields, no HTTP-only parameters, no schema said twice."""

from __future__ import annotations

from typing import Any

from mcp import Client

from picsha_mcp.server import PicshaServer


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
    assert set(upload["properties"]["config"]["anyOf"][0]["properties"]) >= {"auto_tag", "ocr", "vectorize"}
    assert upload["properties"]["wait_s"]["maximum"] == 60
    assert upload["properties"]["on_duplicate"]["enum"] == ["keep", "reuse"]

    render = tools["render_asset"].input_schema["properties"]
    assert "download" not in render and render["preview"]["default"] == "thumb"

    asset_schemas = [name for name, tool in tools.items() if tool.output_schema and "meta" in tool.output_schema["properties"]]
    assert asset_schemas == ["get_asset"]  # upload, update and delete say "Output: as get_asset."
    assert all("Output: as get_asset." in tools[name].description for name in ("upload_asset", "update_asset", "delete_asset"))
