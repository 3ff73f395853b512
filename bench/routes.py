"""One route at a time against an idle ``picsha serve``: throughput and latency at 1 and 8 clients.

    python bench/routes.py [--seconds 5] [--workers 1] [--repeat 1]

Starts ``picsha serve`` (SQLite, a local folder, analyses off: the embedded default) with ``--workers``
processes, seeds 60 small images, then runs each route alone for ``--seconds`` at 1 and at 8 clients:

- ``healthz``: ``GET /healthz``, the baseline of the same run (uvicorn, FastAPI and the client; no key,
  no catalog), so the other rows can be read as what Picsha adds on this machine at this moment;
- ``get``: ``GET /v1/assets/{id}`` with a key;
- ``list50``: ``GET /v1/assets?page_size=50`` with a key;
- ``render_cached``: ``GET /v1/assets/{id}/render?w=200&format=webp`` with a key, rendered once before.

The clients are plain asyncio connections speaking HTTP/1.1 with keep-alive (a few microseconds per
request, so the client is not what is measured). Then the recovery time: a mixed load (bench/load.py's
mix, ``--load-clients`` for ``--load-seconds``) and, once it stops, the time until a get answers at idle
latency again (three in a row within 2x the idle p50 + 1 ms).

Targets (2 cores, idle server): get >= 1,500 req/s at 8 clients and p50 <= 2 ms at 1 client; list50
>= 300 req/s; cached render >= 1,000 req/s; recovery <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from bench.load import Connection, run_load, start_server  # noqa: E402
from tests.processes import stop_process  # noqa: E402
from tests.factories import image_bytes  # noqa: E402

ROUTES = ("healthz", "get", "list50", "render_cached")
TARGETS = {("get", 8): 1500, ("list50", 8): 300, ("render_cached", 8): 1000}


@dataclass
class Result:
    route: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def hammer(port: int, headers: dict[str, str], path: str, clients: int, seconds: float, route: str) -> Result:
    connections = [Connection("127.0.0.1", port, headers) for _ in range(clients)]
    for connection in connections:  # open and warm every connection before the clock starts
        await connection.get(path)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def loop(connection: Connection) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = await connection.get(path)
            latencies.append(time.perf_counter() - started)
            errors += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    return Result(route, clients, len(latencies), elapsed, latencies, errors)


async def seed(base: str, key: str) -> tuple[str, str]:
    """60 small images (the 50-row list has 50 to show) and a rendered derivative; the first asset's id."""
    async with httpx2.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        ids = []
        for n in range(60):
            made = await http.post("/v1/assets", files={"file": (f"route photo {n}.png", image_bytes(64 + n, 48, "png"))})
            made.raise_for_status()
            ids.append(made.json()["id"])
        render = f"/v1/assets/{ids[0]}/render?w=200&format=webp"
        (await http.get(render)).raise_for_status()
    return ids[0], render


async def recovery(port: int, headers: dict[str, str], path: str, idle_p50_s: float, timeout_s: float = 30) -> float:
    """Seconds from now until a get answers within 2x the idle p50 + 1 ms three times in a row."""
    threshold = 2 * idle_p50_s + 0.001
    connection = Connection("127.0.0.1", port, headers)
    started = time.perf_counter()
    streak_start, streak = None, 0
    try:
        while time.perf_counter() - started < timeout_s:
            sent = time.perf_counter()
            status, _ = await connection.get(path)
            took = time.perf_counter() - sent
            if status == 200 and took <= threshold:
                streak_start = sent if streak == 0 else streak_start
                streak += 1
                if streak == 3:
                    return (streak_start or sent) - started
            else:
                streak = 0
                await asyncio.sleep(0.01)
    finally:
        await connection.close()
    return float("inf")


def print_table(results: list[Result]) -> None:
    base = {r.clients: r for r in results if r.route == "healthz"}
    print(f"{'route':14} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} {'/healthz':>9}  target")
    for r in results:
        target = TARGETS.get((r.route, r.clients))
        if r.route == "get" and r.clients == 1:
            mark = f"p50 <= 2 ms: {'met' if r.p(0.5) <= 2 else 'NOT met'}"
        else:
            mark = f">= {target} req/s: {'met' if r.rate >= target else 'NOT met'}" if target else ""
        ratio = r.rate / base[r.clients].rate if r.clients in base else float("nan")
        print(f"{r.route:14} {r.clients:7} {r.rate:9.0f} {r.p(0.5):8.2f} {r.p(0.99):8.2f} {r.errors:8} {ratio:9.2f}  {mark}")


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        port = __import__("tests.conftest", fromlist=["free_port"]).free_port()
        server, key = start_server(Path(folder) / "data", port, workers=args.workers)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {key}"}
        try:
            asset_id, render = await seed(base, key)
            paths = {"healthz": "/healthz", "get": f"/v1/assets/{asset_id}", "list50": "/v1/assets?page_size=50",
                     "render_cached": render}
            for round_ in range(args.repeat):
                results = [await hammer(port, headers, paths[route], clients, args.seconds, route)
                           for clients in (1, 8) for route in ROUTES]
                print(f"-- round {round_ + 1}: {args.seconds:g} s per row, server processes: {args.workers or 'default'}")
                print_table(results)
            idle = statistics.median((await hammer(port, headers, paths["get"], 1, 1.0, "get")).latencies)
            tally = await run_load(base, key, clients=args.load_clients, seconds=args.load_seconds)
            back = await recovery(port, headers, paths["get"], idle)
            busy = sum(c[503] for c in tally.statuses.values())
            print(f"recovery after {args.load_clients} clients x {args.load_seconds:g} s of the mixed load "
                  f"({busy} answered 503, {tally.server_errors} other 5xx): get at idle latency again after "
                  f"{back:.2f} s (idle p50 {idle * 1000:.2f} ms; target <= 2 s: {'met' if back <= 2 else 'NOT met'})")
        finally:
            stop_process(server, grace_s=60)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=None, help="server processes (default: picsha serve's own)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--load-clients", type=int, default=64)
    parser.add_argument("--load-seconds", type=float, default=10)
    sys.exit(asyncio.run(main(parser.parse_args())))
