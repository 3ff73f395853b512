"""The REST face of the tool registry: ``GET /v1/tools``, ``POST /v1/tools/{id}``, ``/llms.txt``."""

from __future__ import annotations

import base64

from tests.conftest import ApiClient
from tests.factories import image_bytes
from tools_manifest.docs import llms_full_txt, llms_txt
from tools_manifest.registry import all_tools


async def test_tools_are_listed_with_schemas(api: ApiClient) -> None:
    headers = await api.account()
    listed = (await api.http.get("/v1/tools", headers=headers)).json()["tools"]
    assert [tool["id"] for tool in listed] == [spec.id for spec in all_tools()]
    delete = next(tool for tool in listed if tool["id"] == "delete_asset")
    assert delete["annotations"]["destructiveHint"] is True and delete["rest"] == "POST /v1/tools/delete_asset"
    assert "confirm" in delete["input_schema"]["properties"]


async def test_call_tools_with_the_same_json_as_mcp(api: ApiClient) -> None:
    headers = await api.account()
    data = base64.b64encode(image_bytes(200, 100, "png")).decode()
    made = await api.http.post("/v1/tools/upload_asset", json={"base64": data, "filename": "t.png"}, headers=headers)
    assert made.status_code == 200, made.text
    asset = made.json()
    rendered = await api.http.post(
        "/v1/tools/render_asset", json={"id": asset["id"], "w": 50, "h": 50, "format": "png"}, headers=headers
    )
    assert rendered.status_code == 200 and rendered.json()["width"] == 50
    signed = await api.http.get(rendered.json()["url"].removeprefix("http://testserver"))
    assert signed.status_code == 200 and signed.content[:4] == b"\x89PNG"
    usage = await api.http.post("/v1/tools/get_usage", headers=headers)
    assert usage.status_code == 200 and usage.json()["period"] == "current_month"


async def test_tool_errors_have_the_rest_shape(api: ApiClient) -> None:
    headers = await api.account()
    anonymous = await api.http.post("/v1/tools/get_usage")
    assert anonymous.status_code == 401
    missing = await api.http.post("/v1/tools/get_asset", json={"id": "as_nothing"}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "asset_not_found"
    refused = await api.http.post("/v1/tools/delete_asset", json={"id": "as_nothing"}, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "confirmation_required"
    local = await api.http.post("/v1/tools/upload_asset", json={"path": "/etc/hostname"}, headers=headers)
    assert local.status_code == 403 and local.json()["error"]["code"] == "asset_path_not_allowed"
    invalid = await api.http.post("/v1/tools/list_assets", json={"page_size": 0}, headers=headers)
    assert invalid.status_code == 400 and "page_size" in invalid.json()["error"]["message"]
    not_json = await api.http.post("/v1/tools/get_asset", content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    array = await api.http.post("/v1/tools/get_asset", json=[1], headers=headers)
    assert array.status_code == 400 and array.json()["error"]["code"] == "invalid_json"
    unknown = await api.http.post("/v1/tools/format_disk", json={}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "tool_not_found"


async def test_llms_txt_is_served(api: ApiClient) -> None:
    short = await api.http.get("/llms.txt")
    full = await api.http.get("/llms-full.txt")
    assert short.status_code == 200 and short.text == llms_txt() and "render_asset" in short.text
    assert full.status_code == 200 and full.text == llms_full_txt()
    assert short.headers["content-type"].startswith("text/markdown")


async def test_mcp_and_rest_errors_are_the_same(api: ApiClient) -> None:
    import json

    from mcp import Client

    from engine.auth import Principal
    from picsha_mcp.server import build_server
    from tools_manifest.calls import Transport

    headers = await api.account("twin")
    principal = await api.engine.keys.authenticate(headers["Authorization"].removeprefix("Bearer "))

    async def same_account(_engine: object, _request: object) -> Principal:
        return principal

    server = build_server(api.engine, transport=Transport.HTTP, authenticate=same_account)  # type: ignore[arg-type]
    cases = [("get_asset", {"id": "as_absent"}), ("list_assets", {"page_size": 0, "sort": "name"}),
             ("delete_asset", {"id": "as_absent"}), ("upload_asset", {"path": "/etc/hostname"})]
    async with Client(server) as client:
        for tool, arguments in cases:
            rest = (await api.http.post(f"/v1/tools/{tool}", json=arguments, headers=headers)).json()
            mcp = await client.call_tool(tool, arguments)
            assert mcp.is_error and json.loads(mcp.content[0].text) == rest, tool  # type: ignore[union-attr]
    resource_route = (await api.http.get("/v1/assets/as_absent", headers=headers)).json()
    tool_route = (await api.http.post("/v1/tools/get_asset", json={"id": "as_absent"}, headers=headers)).json()
    assert resource_route == tool_route
