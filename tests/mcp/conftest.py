"""MCP fixtures: the server built over the test engine, and the official client connected in memory."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from engine import Engine
from picsha_mcp.server import PicshaServer, build_server
from tests.factories import image_bytes
from tools_manifest.calls import Transport


@pytest.fixture
def server(engine: Engine) -> PicshaServer:
    return build_server(engine, transport=Transport.STDIO)


# No ``Client`` fixture: its task group must be entered and left in the test's own task, so each test
# writes ``async with Client(server) as client``.


def error_of(result: CallToolResult) -> dict[str, Any]:
    """The ``{"code", "message", ...}`` of an error result (the REST error body's inner object)."""
    assert result.is_error, result.content
    return json.loads(result.content[0].text)["error"]  # type: ignore[union-attr]


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def upload(
    client: Client, width: int = 640, height: int = 480, name: str = "photo.jpg", **extra: Any
) -> dict[str, Any]:
    data = base64.b64encode(image_bytes(width, height)).decode()
    return ok(await client.call_tool("upload_asset", {"base64": data, "filename": name, **extra}))
