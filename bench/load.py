"""Mixed load against ``picsha serve`` on 127.0.0.1: many clients at once, for a bounded time.

    python bench/load.py [--clients 200] [--seconds 60] [--workers N] [--analyses]

Starts ``picsha serve`` (SQLite, a local folder: the embedded default) in its own process, seeds a few
assets, then runs ``--clients`` clients for ``--seconds``, each looping over a weighted mix: multipart
uploads, TUS uploads (create + one PATCH), cold renders (a new width each time), cached renders, searches,
gets and lists. Prints per route: requests, throughput, p50 and p99 latency, and the answers by status;
then the 5xx count (target 0), the uploads the server accepted that cannot be read back (target 0), the
refusals (the only one allowed under overload is 503 with Retry-After), the server's peak memory (RSS, all
its processes) and the recovery time: from the end of the load until a get answers at its idle latency
again (three in a row within 2x the idle p50 + 1 ms). ``--workers`` is passed to ``picsha serve`` (default:
its own, the number of cores); ``--analyses`` turns the default analyses on, so jobs run beside the load.

Beside each route's p99 the app's own p99 (the server's ``Server-Timing``, turned on here: from the request
reaching the app to its answer's first bytes) and, under the table, this client process's own event-loop
lag: on one machine the client's share of a latency is not the server's. Clients start 20 ms apart, each on
a keep-alive connection of its own written by hand (a library client's ~1 ms per request would be taken
from the server's cores), and refusals are printed by their error code.

Baseline in the same run: the same mix with one client, so the p50 ratios show what the load costs.
``run_load`` is also what the suite's short version (tests/rest/test_load.py) calls.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import orjson  # noqa: E402
import psutil  # noqa: E402

from tests.factories import image_bytes  # noqa: E402
from tests.processes import picsha, run_picsha, stop_process, wait_until_serving  # noqa: E402

MIX = [("upload", 2), ("tus", 1), ("render_cold", 2), ("render_cached", 4), ("search", 2), ("get", 4), ("list", 1)]
PNG = image_bytes(320, 240, "png")
LAG_TICK_S = 0.005
RAMP_S = 0.02
REQUEST_TIMEOUT_S = 120.0
BOUNDARY = "picsha-load-boundary"


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection, written by hand: a request costs this process a few microseconds
    (an HTTP client library's machinery costs ~1 ms, which on one machine is taken from the server). Bodies
    are read by Content-Length or chunks; a broken connection is opened again by the next request."""

    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, *, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> Answer:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                return await self._exchange(method, path, body, headers or {})
        except BaseException:
            await self.close()  # a half-read answer must not be taken for the next one's
            raise

    async def get(self, path: str) -> tuple[int, bytes]:
        answer = await self.request("GET", path)
        return answer.status_code, answer.body

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        more = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        length = f"Content-Length: {len(body)}\r\n" if body or method in ("POST", "PATCH", "PUT") else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}{more}{length}\r\n".encode()
                          + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in fields:
            data = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readexactly(2)
            data = b"".join(parts)
        elif status in (204, 304) or method == "HEAD":
            data = b""
        else:
            data = await self.reader.read()
        if fields.get("connection") == "close":
            await self.close()
        return Answer(status, fields, data)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def multipart(filename: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError)


@dataclass
class Tally:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    accepted: list[str] = field(default_factory=list)  # asset ids the server said it stored
    refusals_without_retry_after: int = 0
    refusal_codes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # 4xx/503 by code
    transport_errors: Counter[str] = field(default_factory=Counter)
    client_lag: list[float] = field(default_factory=list)  # the client's own event-loop lag, sampled
    server: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # the app's own, by route

    @property
    def server_errors(self) -> int:
        return sum(n for counts in self.statuses.values() for status, n in counts.items() if status >= 500
                   and status != 503)

    @property
    def busy(self) -> int:
        return sum(counts[503] for counts in self.statuses.values())


class Client:
    def __init__(self, connection: Connection, seeds: list[str], tally: Tally, rng: random.Random):
        self.http, self.seeds, self.tally, self.rng = connection, seeds, tally, rng

    async def one(self) -> None:
        route = self.rng.choices([name for name, _ in MIX], weights=[w for _, w in MIX])[0]
        started = time.perf_counter()
        try:
            response = await getattr(self, route)()
        except TRANSPORT_ERRORS as error:
            self.tally.transport_errors[f"{route}: {type(error).__name__}"] += 1
            return
        self.tally.latency[route].append(time.perf_counter() - started)
        _name, _, took_ms = response.headers.get("server-timing", "").partition(";dur=")
        if took_ms:
            self.tally.server[route].append(float(took_ms) / 1000)
        self.tally.statuses[route][response.status_code] += 1
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.tally.refusals_without_retry_after += 1
        if response.status_code in (429, 503):
            self.tally.refusal_codes[route][_error_code(response)] += 1

    async def upload(self) -> Answer:
        body, headers = multipart(f"load-{self.rng.random()}.png", PNG)
        response = await self.http.request("POST", "/v1/assets", body=body, headers=headers)
        if response.status_code in (200, 201, 202):
            self.tally.accepted.append(response.json()["id"])
        return response

    async def tus(self) -> Answer:
        body = image_bytes(64 + self.rng.randrange(64), 48, "png")
        created = await self.http.request("POST", "/v1/upload/resumable", headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": str(len(body)), "Upload-Metadata": "filename bG9hZC5wbmc="})
        if created.status_code != 201:
            return created
        response = await self.http.request("PATCH", urlsplit(created.headers["location"]).path, body=body, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        asset_id = response.headers.get("upload-asset-id")
        if response.status_code == 204 and asset_id:
            self.tally.accepted.append(asset_id)
        return response

    async def render_cold(self) -> Answer:
        width = self.rng.randrange(40, 600)
        return await self.http.request("GET", f"/v1/assets/{self.rng.choice(self.seeds)}/render?w={width}&format=webp")

    async def render_cached(self) -> Answer:
        return await self.http.request("GET", f"/v1/assets/{self.seeds[0]}/render?w=200&format=webp")

    async def search(self) -> Answer:
        query = orjson.dumps({"query": self.rng.choice(["load", "seed photo", "png"])})
        return await self.http.request("POST", "/v1/search", body=query, headers={"Content-Type": "application/json"})

    async def get(self) -> Answer:
        return await self.http.request("GET", f"/v1/assets/{self.rng.choice(self.seeds)}")

    async def list(self) -> Answer:
        return await self.http.request("GET", "/v1/assets?page_size=20")


def _error_code(response: Answer) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


async def run_load(base: str, key: str, *, clients: int, seconds: float, seed: int = 1) -> Tally:
    tally = Tally()
    address = urlsplit(base)
    assert address.hostname and address.port, base
    connections = [Connection(address.hostname, address.port, {"Authorization": f"Bearer {key}"})
                   for _ in range(clients)]
    first = connections[0]
    seeds = []
    for n in range(3):
        body, headers = multipart(f"seed photo {n}.png", image_bytes(800 + n, 600, "png"))
        made = await first.request("POST", "/v1/assets", body=body, headers=headers)
        assert made.status_code in (200, 201, 202), (made.status_code, made.body[:300])
        seeds.append(made.json()["id"])
    cached = f"/v1/assets/{seeds[0]}/render?w=200&format=webp"
    # The cached route's derivative exists before the clock starts (else its first requests are a cold render
    # that every client waits on), and every server process has seen the key and served that derivative: the
    # warm-up runs on every client's connection at once, which the server processes accept between them.
    assert (await first.request("GET", cached)).status_code == 200

    async def warm(connection: Connection) -> None:
        for _ in range(2):
            for path in (cached, f"/v1/assets/{seeds[0]}"):
                answer = await connection.request("GET", path)
                assert answer.status_code == 200, (path, answer.status_code)

    await asyncio.gather(*(warm(connection) for connection in connections))
    deadline = time.perf_counter() + seconds

    async def loop(n: int) -> None:
        client = Client(connections[n], seeds, tally, random.Random(seed * 1000 + n))
        # Clients arrive RAMP_S apart: all at one instant, this one process builds every first request at
        # once (uploads' bodies included) and its own delay showed as the server's (~50 ms).
        await asyncio.sleep(n * RAMP_S)
        while time.perf_counter() < deadline:
            await client.one()

    async def client_lag() -> None:
        # how late this process's own event loop wakes: part of every latency measured here
        while time.perf_counter() < deadline:
            asleep = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            tally.client_lag.append(time.perf_counter() - asleep - LAG_TICK_S)

    try:
        await asyncio.gather(client_lag(), *(loop(n) for n in range(clients)))
    finally:
        for connection in connections:
            await connection.close()
    return tally


async def lost_uploads(base: str, key: str, accepted: list[str]) -> list[str]:
    async with httpx2.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        missing = []
        for asset_id in accepted:
            if (await http.get(f"/v1/assets/{asset_id}")).status_code != 200:
                missing.append(asset_id)
        return missing


def start_server(data_dir: Path, port: int, *, workers: int | None = None,
                 **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """``picsha serve`` on ``port`` over ``data_dir`` (analyses off unless ``settings`` say otherwise; with
    ``workers`` server processes, else the default), once it answers, with a key made for it beforehand.
    Its output goes to ``serve.log`` beside the folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSHA_")}
    env |= {"PICSHA_DATA_DIR": str(data_dir), "PICSHA_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "PICSHA_SERVER_TIMING": "true"}
    for flag in ("AUTO_TAG", "SAFE_SEARCH", "OCR", "AUTO_SUMMARIZE", "VECTORIZE"):
        env[f"PICSHA_ENRICH__DEFAULTS__{flag}"] = "false"  # the HTTP paths under load, not the analyses
    env |= settings
    key = run_picsha(env, "keys", "create", "--name", "bench").stdout.strip()
    log = data_dir.parent / "serve.log"
    with log.open("wb") as out:
        extra = ["--workers", str(workers)] if workers is not None else []
        server = subprocess.Popen(picsha("serve", "--port", str(port), *extra), env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    wait_until_serving(f"http://127.0.0.1:{port}", server, log)
    return server, key


class PeakMemory:
    """The highest total RSS of a process and its children (``picsha serve --workers``: every process)."""

    def __init__(self, pid: int):
        self.process, self.peak, self._task = psutil.Process(pid), 0, None

    def rss(self) -> int:
        total = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    async def __aenter__(self) -> "PeakMemory":
        async def sample() -> None:
            while True:
                self.peak = max(self.peak, self.rss())
                await asyncio.sleep(0.2)

        self._task = asyncio.create_task(sample())  # type: ignore[assignment]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()  # type: ignore[union-attr]


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def report(title: str, tally: Tally, seconds: float) -> dict[str, float]:
    print(title)
    p50s = {}
    for route, _ in MIX:
        times = sorted(tally.latency.get(route, []))
        if not times:
            continue
        p50s[route] = statistics.median(times)
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses[route].items()))
        inside = sorted(tally.server.get(route, []))
        app_p99 = f"  app p99 {_p99(inside) * 1000:6.1f} ms" if inside else ""
        print(f"  {route:14} {len(times):6} req {len(times) / seconds:7.1f}/s  p50 {p50s[route] * 1000:8.1f} ms  "
              f"p99 {_p99(times) * 1000:8.1f} ms{app_p99}  [{statuses}]")
    for route, codes in tally.refusal_codes.items():
        print(f"  refused {route}: " + ", ".join(f"{code} {n}" for code, n in codes.most_common()))
    if tally.client_lag:
        lags = sorted(tally.client_lag)
        print(f"  (this client's own event loop woke {statistics.median(lags) * 1000:.1f} ms late at p50, "
              f"{_p99(lags) * 1000:.1f} ms at p99: part of every latency above)")
    return p50s


async def main(args: argparse.Namespace) -> int:
    from bench.routes import hammer, recovery  # noqa: PLC0415 (bench.routes imports this module)

    settings = {f"PICSHA_ENRICH__DEFAULTS__{flag}": "true" for flag in ANALYSES} if args.analyses else {}
    if args.server_gc == "plain":
        settings["PICSHA_ADMISSION__FREEZE_HEAP"] = "false"
    with tempfile.TemporaryDirectory() as folder:
        port = __import__("tests.conftest", fromlist=["free_port"]).free_port()
        server, key = start_server(Path(folder) / "data", port, workers=args.workers, **settings)
        base = f"http://127.0.0.1:{port}"
        try:
            baseline = await run_load(base, key, clients=1, seconds=min(10.0, args.seconds))
            one = report("1 client (baseline)", baseline, min(10.0, args.seconds))
            get = f"/v1/assets/{baseline.accepted[0]}" if baseline.accepted else "/healthz"
            headers = {"Authorization": f"Bearer {key}"}
            idle = statistics.median((await hammer(port, headers, get, 1, 2.0, "get")).latencies)
            async with PeakMemory(server.pid) as memory:
                started = time.perf_counter()
                tally = await run_load(base, key, clients=args.clients, seconds=args.seconds)
                elapsed = time.perf_counter() - started
                back = await recovery(port, headers, get, idle)
            many = report(f"{args.clients} clients, {args.seconds:g} s", tally, elapsed)
            lost = await lost_uploads(base, key, tally.accepted)
            settled_rss = memory.rss()
        finally:
            stop_process(server, grace_s=60)
        print("p50 ratio to 1 client: " + ", ".join(f"{r} {many[r] / one[r]:.1f}x" for r in many if r in one))
        print(f"5xx other than 503: {tally.server_errors} (target 0) | 503 busy: {tally.busy} "
              f"({tally.refusals_without_retry_after} without Retry-After) | transport errors: "
              f"{sum(tally.transport_errors.values())} {dict(tally.transport_errors)}")
        print(f"uploads accepted: {len(tally.accepted)}, lost: {len(lost)} (target 0) | server peak RSS: "
              f"{memory.peak / 2**20:.0f} MiB (after the load: {settled_rss / 2**20:.0f} MiB)")
        print(f"recovery: a get at idle latency again {back:.2f} s after the load ended (idle p50 "
              f"{idle * 1000:.2f} ms; target <= 2 s)")
        return 1 if tally.server_errors or lost else 0


ANALYSES = ("AUTO_TAG", "SAFE_SEARCH", "OCR", "AUTO_SUMMARIZE", "VECTORIZE")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=None, help="picsha serve --workers (default: its own)")
    parser.add_argument("--analyses", action="store_true", help="run the default analyses on every upload")
    parser.add_argument("--server-gc", choices=("frozen", "plain"), default="frozen",
                        help="plain: the server does not freeze its long-lived heap (PICSHA_ADMISSION__FREEZE_HEAP)")
    # The clients' own full collections would show up as server latency: this process freezes its heap too.
    gc.collect()
    gc.freeze()
    sys.exit(asyncio.run(main(parser.parse_args())))
