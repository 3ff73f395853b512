"""The agent loop both examples share: offer Claude the tools, run the ones it picks, repeat until it answers.

The transport is one callable, ``call(name, input) -> (content blocks, is_error)``: MCP over stdio in
``mcp_agent.py``, plain REST in ``rest_agent.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = os.environ.get("PICSHA_AGENT_MODEL", "claude-sonnet-4-5")
MAX_TURNS = 8
DEFAULT_IMAGE = "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"
TASK = (
    "Upload the image at {url} to Picsha, then render a 256x256 square WebP thumbnail of it "
    "(fit cover) and tell me the thumbnail's signed URL."
)

Block = dict[str, Any]
CallTool = Callable[[str, dict[str, Any]], Awaitable[tuple[list[Block], bool]]]
CreateMessage = Callable[..., Awaitable[Any]]  # anthropic's AsyncAnthropic().messages.create


def require_api_key() -> None:
    if not os.environ.get("ANTHROPIC_API_KEY"):
        sys.exit("ANTHROPIC_API_KEY is not set: this example talks to Claude. Export your key and run it again.")


def task(url: str | None = None) -> str:
    return TASK.format(url=url or os.environ.get("PICSHA_AGENT_IMAGE_URL", DEFAULT_IMAGE))


async def handle_tool_uses(content: list[Any], call: CallTool) -> list[Block]:
    """One ``tool_result`` block for each ``tool_use`` block of Claude's turn, in order."""
    results: list[Block] = []
    for block in content:
        if getattr(block, "type", None) != "tool_use":
            continue
        blocks, is_error = await call(block.name, dict(block.input))
        results.append({"type": "tool_result", "tool_use_id": block.id, "content": blocks, "is_error": is_error})
    return results


async def run_agent(create: CreateMessage, tools: list[Block], call: CallTool, prompt: str) -> str:
    """Claude's final text answer; raises if it has not answered within ``MAX_TURNS`` turns."""
    messages: list[Block] = [{"role": "user", "content": prompt}]
    for _turn in range(MAX_TURNS):
        response = await create(model=MODEL, max_tokens=2048, tools=tools, messages=messages)
        messages.append({"role": "assistant", "content": response.content})
        if response.stop_reason != "tool_use":
            return "".join(block.text for block in response.content if getattr(block, "type", None) == "text")
        messages.append({"role": "user", "content": await handle_tool_uses(response.content, call)})
    raise RuntimeError(f"No answer after {MAX_TURNS} turns.")
