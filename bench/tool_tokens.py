"""The size of the full MCP ``tools/list`` answer in tokens (tiktoken cl100k_base). Target: <= 4,000.

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


async def tools_list_json() -> tuple[str, list[tuple[str, str]]]:
    from mcp import Client

    with tempfile.TemporaryDirectory() as tmp:
        async with Engine.open(Settings(data_dir=Path(tmp))) as engine:
            async with Client(build_server(engine, transport=Transport.STDIO)) as client:
                listed = await client.list_tools()
    whole = listed.model_dump_json(by_alias=True, exclude_none=True, include={"tools"})
    each = [(tool.name, tool.model_dump_json(by_alias=True, exclude_none=True)) for tool in listed.tools]
    return whole, each


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
    return 0 if total <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
