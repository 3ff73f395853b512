"""MCP over streamable HTTP with the official client: the same keys and sessions as REST; ``tools/list``
shows a key only the tools its scopes allow, and a call beyond them is refused with the REST error."""

from __future__ import annotations

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from engine import Settings
from engine.auth.scopes import Scope
from tests.conftest import LiveServer
from tests.factories import make_key
from tests.mcp.conftest import error_of, ok
from tools_manifest.registry import all_tools

LISTED = {tool.id: tool.scope.value for tool in all_tools() if tool.listed}


async def listed_and_refused(url: str, headers: dict[str, str]) -> tuple[set[str], dict[str, str]]:
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        listed = ok(await client.call_tool("list_assets", {})) if "list_assets" in names else None
        refused = error_of(await client.call_tool("delete_asset", {"id": "as_nothere", "confirm": True}))
    assert listed is None or listed["total"] == 0
    return names, refused


@pytest.mark.slow
async def test_tools_list_shows_a_key_only_what_its_scopes_allow(settings: Settings, live_server: LiveServer) -> None:
    operator = await anyio.to_thread.run_sync(make_key, settings)
    async with httpx2.AsyncClient(base_url=live_server.url, headers={"X-API-Key": operator}, timeout=30) as rest:
        reader = (await rest.post("/v1/api-keys", json={"name": "r", "scopes": ["assets:read", "search"]})).json()["key"]
        renderer = (await rest.post("/v1/api-keys", json={"name": "g", "scopes": ["render"]})).json()["key"]
    url = f"{live_server.url}/mcp"

    everything, _ = await listed_and_refused(url, {"Authorization": f"Bearer {operator}"})
    assert everything == set(LISTED)
    names, refused = await listed_and_refused(url, {"X-API-Key": reader})
    assert names == {tool for tool, scope in LISTED.items() if scope in ("assets:read", "search")}
    assert {"get_asset", "search_assets"} <= names and "upload_asset" not in names and "render_asset" not in names
    assert refused["code"] == "key_scope_denied" and refused["scope"] == Scope.ASSETS_WRITE.value
    names, _ = await listed_and_refused(url, {"X-API-Key": renderer})
    assert names == {"render_asset"}


@pytest.mark.slow
async def test_a_login_session_reaches_mcp_with_its_roles_scopes(settings: Settings, live_server: LiveServer) -> None:
    operator = await anyio.to_thread.run_sync(make_key, settings, "acme")
    async with httpx2.AsyncClient(base_url=live_server.url, headers={"X-API-Key": operator}, timeout=30) as rest:
        made = await rest.post("/v1/auth/register", json={"username": "mcp-user", "password": "long enough"})
        assert made.status_code == 201, made.text
        token = (await rest.post("/v1/auth/login", json={"username": "mcp-user", "password": "long enough"})).json()["token"]
    names, refused = await listed_and_refused(f"{live_server.url}/mcp", {"Authorization": f"Bearer {token}"})
    assert names == set(LISTED)  # a user's role allows every tool's scope (admin is for people management)
    assert refused["code"] == "asset_not_found"  # allowed, and the asset is not there
