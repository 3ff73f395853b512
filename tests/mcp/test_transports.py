"""The real transports: ``picsha mcp`` as a subprocess over stdio, and streamable HTTP on uvicorn."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from engine import Settings
from tests.conftest import LiveServer
from tests.factories import image_bytes, make_key
from tests.mcp.conftest import error_of, ok

PICSHA = str(Path(sys.executable).with_name("picsha"))


def stdio_params(data_dir: Path) -> StdioServerParameters:
    env = {**os.environ, "PICSHA_DATA_DIR": str(data_dir), "PICSHA_AUTH": "on",
           "PICSHA_INGEST__PATH_ROOTS": json.dumps([str(data_dir.parent)])}
    return StdioServerParameters(command=PICSHA, args=["mcp"], env=env)


@pytest.mark.slow
async def test_picsha_mcp_over_stdio(tmp_path: Path) -> None:
    picture = tmp_path / "on-disk.png"
    picture.write_bytes(image_bytes(120, 80, "png"))
    async with Client(stdio_params(tmp_path / "data")) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        asset = ok(await client.call_tool("upload_asset", {"path": str(picture), "tags": ["local"]}))
        usage = ok(await client.call_tool("get_usage", {}))
        missing = await client.call_tool("get_asset", {"id": "as_nothere"})
        preview = await client.read_resource(f"picsha://assets/{asset['id']}/preview")
    assert {"upload_asset", "render_asset", "run_image_tool"} <= set(names) and "get_usage" not in names  # by name only
    assert asset["filename"] == "on-disk.png" and asset["tags"] == ["local"]
    assert usage["breakdown"]["storage_gb"] > 0
    assert error_of(missing)["code"] == "asset_not_found"
    assert preview.contents[0].mime_type == "image/webp"
    assert (tmp_path / "data").is_dir()


def http_client(key: str | None, **headers: str) -> httpx2.AsyncClient:
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx2.AsyncClient(headers={**auth, **headers}, timeout=30)


@pytest.mark.slow
async def test_streamable_http_with_and_without_a_key(settings: Settings, live_server: LiveServer) -> None:
    key = await anyio.to_thread.run_sync(make_key, settings)  # make_key runs its own event loop
    url = f"{live_server.url}/mcp"
    async with http_client(key) as http, Client(streamable_http_client(url, http_client=http)) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        usage = ok(await client.call_tool("get_usage", {}))
        local = await client.call_tool("upload_asset", {"path": "/etc/hostname"})
        data = base64.b64encode(image_bytes(30, 20, "png")).decode()
        asset = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "via-http.png"}))
    assert "get_asset" in names and usage["period"] == "current_month"
    assert error_of(local)["code"] == "asset_path_not_allowed"
    async with http_client(key) as http:  # the tools ran as the key's account: REST with that key sees it
        assert (await http.get(f"{live_server.url}/v1/assets/{asset['id']}")).json()["filename"] == "via-http.png"

    async with httpx2.AsyncClient(timeout=30) as raw:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        anonymous = await raw.post(url, json=hello, headers=accept)
        wrong = await raw.post(url, json=hello, headers={**accept, "Authorization": "Bearer sk_live_nope"})
        rebinding = await raw.post(
            url, json=hello, headers={**accept, "Authorization": f"Bearer {key}", "Host": "evil.example"}
        )
        foreign_origin = await raw.post(
            url, json=hello, headers={**accept, "Authorization": f"Bearer {key}", "Origin": "http://evil.example"}
        )
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "auth_required"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "auth_invalid_key"
    assert rebinding.status_code in (403, 421) and foreign_origin.status_code == 403
