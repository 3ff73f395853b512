"""What MCP adds to a call: p50 of ``get_asset`` through the in-memory client and over streamable HTTP,
beside the engine call alone, all in the same run. Targets: <= 3 ms and <= 10 ms above the engine.

    python bench/mcp_overhead.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from picsha_mcp.server import build_server  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402
from tests.factories import image_bytes, make_key  # noqa: E402
from tools_manifest.calls import Transport  # noqa: E402


async def p50_ms(call: Callable[[], Awaitable[object]], calls: int) -> float:
    for _ in range(20):  # warm caches and connections
        await call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def seed(settings: Settings) -> str:
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)

        async def one() -> object:
            yield image_bytes(640, 480)

        asset = await engine.ingest.from_stream(owner, "bench.jpg", one(), IngestOptions())  # type: ignore[arg-type]
        return asset.id


async def measure(settings: Settings, asset_id: str, calls: int) -> dict[str, float]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    results: dict[str, float] = {}
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        results["engine.assets.get"] = await p50_ms(lambda: engine.assets.get(owner, asset_id), calls)
        async with Client(build_server(engine, transport=Transport.STDIO)) as client:
            results["MCP in-memory"] = await p50_ms(lambda: client.call_tool("get_asset", {"id": asset_id}), calls)
    key = await anyio.to_thread.run_sync(make_key, settings)
    with LiveServer(settings) as live:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(f"{live.url}/mcp", http_client=http)) as client:
                results["MCP streamable HTTP"] = await p50_ms(
                    lambda: client.call_tool("get_asset", {"id": asset_id}), calls
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        asset_id = asyncio.run(seed(settings))
        results = asyncio.run(measure(settings, asset_id, args.calls))
    base = results["engine.assets.get"]
    targets = {"MCP in-memory": 3.0, "MCP streamable HTTP": 10.0}
    print(f"get_asset p50 over {args.calls} calls")
    for name, value in results.items():
        extra = "" if name not in targets else f"  (+{value - base:.2f} ms; target +{targets[name]:.0f} ms)"
        print(f"  {name:<22} {value:7.2f} ms{extra}")


if __name__ == "__main__":
    main()
