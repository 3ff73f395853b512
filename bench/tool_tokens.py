"""Tokens an agent reads (tiktoken cl100k_base): the full MCP ``tools/list`` (target <= 5,000) and the
default answer of every call in the scripted everyday tasks (bench/agent_tasks.py; target <= 2,000 each).

    python bench/tool_tokens.py        # needs cl100k_base: `make tiktoken-cache` once (offline machines)

Counts the JSON the server sends (compact, as on the wire), got through the official client in memory,
and prints the share of each tool so a growing description or schema is easy to spot.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tiktoken_cache import use_cache_dir  # noqa: E402
from engine import Engine, Settings  # noqa: E402
from picsha_mcp.server import build_server  # noqa: E402
from tools_manifest.calls import Transport  # noqa: E402

TARGET = 5000  # the whole default tools/list, in cl100k_base tokens
RESULT_TARGET = 2000  # any default tool answer


async def tools_list_json() -> tuple[str, list[tuple[str, str]]]:
    from mcp import Client

    with tempfile.TemporaryDirectory() as tmp:
        async with Engine.open(Settings(data_dir=Path(tmp))) as engine:
            async with Client(build_server(engine, transport=Transport.STDIO)) as client:
                listed = await client.list_tools()
    whole = listed.model_dump_json(by_alias=True, exclude_none=True, include={"tools"})
    each = [(tool.name, tool.model_dump_json(by_alias=True, exclude_none=True)) for tool in listed.tools]
    return whole, each


async def task_results() -> list[tuple[str, str, int]]:
    """(task, tool, image blocks) and the answer text of each step of the scripted agent, in memory."""
    from mcp import Client

    from bench.agent_tasks import make_folder, run_tasks
    from tests.factories import make_settings

    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp) / "Pictures")
        settings = make_settings(Path(tmp))
        settings.ingest.path_roots = [folder]
        async with Engine.open(settings) as engine:
            async with Client(build_server(engine, transport=Transport.STDIO)) as client:
                steps = await run_tasks(client, folder)
    return [(f"{step.task} ({step.tool})", step.text, len(step.images)) for step in steps]


def main() -> int:
    use_cache_dir()
    import tiktoken

    try:
        encoding = tiktoken.get_encoding("cl100k_base")
    except Exception as error:  # no cached file and no internet
        print(f"cl100k_base is not available ({type(error).__name__}); run: python bench/tiktoken_cache.py")
        return 2
    whole, each = asyncio.run(tools_list_json())
    total = len(encoding.encode(whole))
    for name, text in each:
        print(f"  {name:<16} {len(encoding.encode(text)):>5} tokens")
    print(f"tools/list: {len(each)} tools, {len(whole)} bytes, {total} tokens (target <= {TARGET})")
    json.loads(whole)
    print("default answers of the scripted everyday tasks (text tokens, images):")
    largest = 0
    seen: set[str] = set()
    for name, text, images in asyncio.run(task_results()):
        tokens = len(encoding.encode(text))
        largest = max(largest, tokens)
        if name not in seen:  # the folder upload repeats one call 19 times
            print(f"  {tokens:>5} tokens  {images} images  {name}")
            seen.add(name)
    print(f"largest default answer: {largest} tokens (target <= {RESULT_TARGET})")
    return 0 if total <= TARGET and largest <= RESULT_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
