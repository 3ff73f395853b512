"""The stdio agent example's tool handling, driven by scripted model turns (no call to Claude)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import Message, TextBlock, ToolUseBlock, Usage
from mcp import Client, StdioServerParameters

from examples.agents import loop
from examples.agents.mcp_agent import anthropic_tools, mcp_caller, picsha_command
from tests.factories import image_bytes

PICTURE = image_bytes(640, 400)


@pytest.fixture
def image_url() -> Iterator[str]:
    """A plain web server on 127.0.0.1 with one JPEG (the MCP server is allowed to fetch private addresses)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(PICTURE)))
            self.end_headers()
            self.wfile.write(PICTURE)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cat.jpg"
    server.shutdown()


def turn(*content: Any, stop: str = "tool_use") -> Message:
    return Message(
        id="msg", type="message", role="assistant", model="scripted", content=list(content), stop_reason=stop,
        stop_sequence=None, usage=Usage(input_tokens=0, output_tokens=0),
    )


class ScriptedClaude:
    """Plays Claude: upload (plus one bad call), then render with the id it was given, then answer."""

    def __init__(self, url: str):
        self.url = url
        self.seen: list[list[dict[str, Any]]] = []
        self.offered: list[str] = []

    async def create(self, *, tools: list[dict[str, Any]], messages: list[dict[str, Any]], **_: Any) -> Message:
        self.offered = [tool["name"] for tool in tools]
        if len(messages) == 1:
            return turn(ToolUseBlock(id="t1", type="tool_use", name="upload_asset", input={"url": self.url}),
                        ToolUseBlock(id="t2", type="tool_use", name="get_asset", input={"id": "as_missing"}))
        results = messages[-1]["content"]
        self.seen.append(results)
        if len(self.seen) == 1:
            asset = json.loads(results[0]["content"][0]["text"])
            args = {"id": asset["id"], "w": 256, "h": 256, "fit": "cover", "format": "webp"}
            return turn(ToolUseBlock(id="t3", type="tool_use", name="render_asset", input=args))
        rendered = json.loads(results[0]["content"][0]["text"])
        return turn(TextBlock(type="text", text=f"Your thumbnail: {rendered['url']}"), stop="end_turn")


@pytest.mark.slow
async def test_agent_uploads_from_a_url_and_renders_a_square(image_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PICSHA_DATA_DIR": str(tmp_path / "data"), "PICSHA_INGEST__FETCH_ALLOW_PRIVATE": "true"}
    claude = ScriptedClaude(image_url)
    async with Client(StdioServerParameters(command=picsha_command(), args=["mcp"], env=env)) as session:
        tools = anthropic_tools((await session.list_tools()).tools)
        answer = await loop.run_agent(claude.create, tools, mcp_caller(session), loop.task(image_url))

    assert {"upload_asset", "render_asset"} <= set(claude.offered)
    upload, missing = claude.seen[0]
    assert (upload["tool_use_id"], upload["is_error"]) == ("t1", False)
    assert json.loads(upload["content"][0]["text"])["meta"]["width"] == 640
    assert missing["tool_use_id"] == "t2" and missing["is_error"] is True
    assert json.loads(missing["content"][0]["text"])["error"]["code"] == "asset_not_found"

    (render,) = claude.seen[1]
    kinds = [block["type"] for block in render["content"]]
    assert kinds == ["text", "text", "image"]  # JSON, the resource link named in text, the preview
    assert render["content"][2]["source"]["media_type"] == "image/webp"
    assert answer.startswith("Your thumbnail: http") and "sig=" in answer and "w=256" in answer


def test_without_an_api_key_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(SystemExit) as stopped:
        loop.require_api_key()
    assert "ANTHROPIC_API_KEY" in str(stopped.value.code)
