"""An agent on the Anthropic SDK that uses Picsha through MCP over stdio.

Run from the repository root:  ANTHROPIC_API_KEY=... python -m examples.agents.mcp_agent [IMAGE_URL]
It starts ``picsha mcp`` (PICSHA_DATA_DIR decides where the data goes), offers Claude Picsha's tools, and
lets it upload an image from a URL and render a square thumbnail.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, ImageContent, ResourceLink, TextContent, Tool

from examples.agents.loop import Block, require_api_key, run_agent, task


def picsha_command() -> str:
    beside_python = Path(sys.executable).with_name("picsha")
    return str(beside_python) if beside_python.exists() else (shutil.which("picsha") or "picsha")


def anthropic_tools(tools: list[Tool]) -> list[Block]:
    return [{"name": t.name, "description": t.description or "", "input_schema": t.input_schema} for t in tools]


def result_blocks(result: CallToolResult) -> list[Block]:
    """MCP content as Anthropic content: text as text, images as images, resource links named in text."""
    blocks: list[Block] = []
    for item in result.content:
        if isinstance(item, TextContent):
            blocks.append({"type": "text", "text": item.text})
        elif isinstance(item, ImageContent):
            source = {"type": "base64", "media_type": item.mime_type, "data": item.data}
            blocks.append({"type": "image", "source": source})
        elif isinstance(item, ResourceLink):
            blocks.append({"type": "text", "text": f"Resource link: {item.uri} ({item.name})"})
    return blocks or [{"type": "text", "text": json.dumps(result.structured_content)}]


def mcp_caller(session: Client) -> Any:
    async def call(name: str, arguments: dict[str, Any]) -> tuple[list[Block], bool]:
        result = await session.call_tool(name, arguments)
        return result_blocks(result), bool(result.is_error)

    return call


async def main(image_url: str | None = None) -> None:
    require_api_key()
    from anthropic import AsyncAnthropic

    claude = AsyncAnthropic()
    async with Client(StdioServerParameters(command=picsha_command(), args=["mcp"])) as session:
        tools = anthropic_tools((await session.list_tools()).tools)
        answer = await run_agent(claude.messages.create, tools, mcp_caller(session), task(image_url))
    print(answer)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
