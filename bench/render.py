"""Render latency: one 4000x3000 JPEG to an 800 px WebP at quality 80, five ways, in one run.

    python bench/render.py [--requests 40]

(a) raw pyvips ``thumbnail_buffer`` in-process; (b) Picsha cold render over HTTP (a new derivative per
request); (c) Picsha cached render over HTTP; (d) Pillow ``draft`` + ``thumbnail`` in-process; (e) a plain
static-file response of the same output bytes (uvicorn + Starlette ``FileResponse``). p50, p95 and
requests/s at concurrency 1 and 4, and the ratios (b)/(a) and (c)/(e). Then the peak RSS growth of
rendering a 100-megapixel JPEG to 800 px through the render pipeline, in a fresh process.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestConfig, IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from engine.render import RenderParams  # noqa: E402

CACHE = ROOT / ".bench-data" / "render"
WIDTH = 800
QUALITY = 80
ANALYSIS_OFF = IngestConfig(
    auto_tag=False, auto_summarize=False, vectorize=False, location_lookup=False,
    pre_render_sizes=False, safe_search=False, ocr=False,
)


def photo(width: int, height: int, name: str) -> Path:
    """A photo-like JPEG (gradients plus noise), made once and kept between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / name
    if not path.exists():
        x = pyvips.Image.xyz(width, height)
        noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
        bands = [((x[0] * 255 / width) + noise).cast("uchar"), ((x[1] * 255 / height) + noise).cast("uchar"),
                 (((x[0] + x[1]) * 128 / width) + noise).cast("uchar")]
        bands[0].bandjoin(bands[1:]).copy(interpretation="srgb").jpegsave(str(path), Q=88)
    return path


# -- timing ---------------------------------------------------------------------------------------------


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.95) - 1)]
    return {"p50": p50 * 1000, "p95": p95 * 1000, "rps": len(latencies) / wall}


NAMES = {
    "a": "(a) pyvips thumbnail_buffer", "b": "(b) Picsha cold render, HTTP", "c": "(c) Picsha cached render, HTTP",
    "d": "(d) Pillow draft + thumbnail", "e": "(e) static file, HTTP",
}


def report(rows: dict[str, dict[str, float]]) -> None:
    for key, name in NAMES.items():
        row = rows[key]
        print(f"  {name:<34} p50 {row['p50']:8.1f} ms   p95 {row['p95']:8.1f} ms   {row['rps']:7.1f} req/s")
    print(f"  ratios: (b)/(a) p50 {rows['b']['p50'] / rows['a']['p50']:.2f} (target <= 1.15)   "
          f"(c)/(e) p50 {rows['c']['p50'] / rows['e']['p50']:.2f} (target <= 1.2)")


def in_process(work: Callable[[], object], requests: int, concurrency: int) -> tuple[list[float], float]:
    def timed(_: int) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, range(requests)))
    return latencies, time.perf_counter() - start


async def over_http(urls: list[str], concurrency: int) -> tuple[list[float], float]:
    import httpx2

    pending = list(urls)
    latencies: list[float] = []
    async with httpx2.AsyncClient(timeout=120) as client:

        async def worker() -> None:
            while pending:
                url = pending.pop(0)
                start = time.perf_counter()
                response = await client.get(url, headers={"Accept": "image/webp"})
                assert response.status_code == 200 and response.content[8:12] == b"WEBP", response.text[:200]
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start


# -- the five ways --------------------------------------------------------------------------------------


def vips_raw(data: bytes) -> bytes:
    return pyvips.Image.thumbnail_buffer(data, WIDTH).webpsave_buffer(Q=QUALITY, keep=pyvips.enums.ForeignKeep.ICC)


def pillow_draft(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (WIDTH, WIDTH))
        image.thumbnail((WIDTH, WIDTH))
        out = io.BytesIO()
        image.save(out, "WEBP", quality=QUALITY)
    return out.getvalue()


def static_app():  # noqa: ANN201 - a uvicorn factory for the static-file baseline
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    path = os.environ["BENCH_STATIC_FILE"]

    async def serve(_request):  # noqa: ANN001, ANN202
        return FileResponse(path, media_type="image/webp")

    return Starlette(routes=[Route("/static.webp", serve)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=os.environ | env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start")


async def prepare_assets(source: Path, data_dir: Path, count: int) -> list[str]:
    """``count`` assets of the same bytes (one blob): each gets its own, cold derivative."""
    params = RenderParams(w=WIDTH, format="webp", q=QUALITY)
    async with Engine.open(Settings(data_dir=data_dir)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        options = IngestOptions(config=ANALYSIS_OFF)
        urls = []
        for _ in range(count):
            asset = await engine.ingest.from_path(owner, source, options)
            urls.append(engine.render.signed_url(asset.id, params).removeprefix(engine.settings.public_url))
    return urls


def run_http(base: str, paths: list[str], concurrency: int) -> tuple[list[float], float]:
    return asyncio.run(over_http([base + path for path in paths], concurrency))


def compare(args: argparse.Namespace, source: Path, scratch: Path) -> None:
    data = source.read_bytes()
    requests = args.requests
    cold_paths = asyncio.run(prepare_assets(source, scratch / "picsha", 2 * requests + 2))
    cached_path, warm_path = cold_paths.pop(), cold_paths.pop()
    picsha, picsha_url = start_server("picsha_mcp.rest:create_app", {"PICSHA_DATA_DIR": str(scratch / "picsha")})
    try:
        run_http(picsha_url, [warm_path], 1)  # the server's first render (libvips start-up) is not measured
        run_http(picsha_url, [cached_path], 1)  # the cached derivative exists from here on
        output = scratch / "static.webp"
        output.write_bytes(asyncio.run(_fetch(picsha_url + cached_path)))
        static, static_url = start_server("bench.render:static_app", {"BENCH_STATIC_FILE": str(output)})
        try:
            run_http(static_url, ["/static.webp"] * 20, 1)
            run_http(picsha_url, [cached_path] * 20, 1)
            fast = max(requests, 200)  # the millisecond paths get more samples: their p95 is otherwise noise
            for index, concurrency in enumerate((1, 4)):
                print(f"concurrency {concurrency}: {requests} requests for (a), (b), (d); {fast} for (c), (e)")
                cold = cold_paths[index * requests : (index + 1) * requests]
                # the millisecond paths first, while the server is idle; cold renders last (their stores
                # finish in the background), then a pause before the next round
                rows = {
                    "c": summary(*run_http(picsha_url, [cached_path] * fast, concurrency)),
                    "e": summary(*run_http(static_url, ["/static.webp"] * fast, concurrency)),
                    "a": summary(*in_process(lambda: vips_raw(data), requests, concurrency)),
                    "d": summary(*in_process(lambda: pillow_draft(data), requests, concurrency)),
                    "b": summary(*run_http(picsha_url, cold, concurrency)),
                }
                report(rows)
                time.sleep(5)
        finally:
            static.terminate()
            static.wait()
    finally:
        picsha.terminate()
        picsha.wait()


async def _fetch(url: str) -> bytes:
    import httpx2

    async with httpx2.AsyncClient() as client:
        return (await client.get(url)).content


# -- memory ---------------------------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since exec) of this process, in MB. (ru_maxrss would carry the parent's
    peak across fork+exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def rss_child(path: Path) -> None:
    """In a fresh process: RSS after a warm-up render, then the peak while rendering the 100-megapixel one."""
    from engine.render.context import RenderContext, Source
    from engine.render.pipeline import run
    from engine.render.settings import RenderSettings

    def render(source: Path) -> bytes:
        ctx = RenderContext(
            params=RenderParams(w=WIDTH, format="webp", q=QUALITY), source=Source(path=source, format="jpeg"),
            settings=RenderSettings(), output_format="webp",
        )
        return run(ctx).data

    render(photo(4000, 3000, "source-4000x3000.jpg"))
    before = _status_mb("VmRSS")
    render(path)
    peak = _status_mb("VmHWM")
    print(f"{peak - before:.1f} {before:.1f} {peak:.1f}")


def measure_rss() -> None:
    big = photo(10000, 10000, "source-10000x10000.jpg")
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(big)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    growth, before, after = (float(v) for v in out)
    print(f"100-megapixel JPEG -> {WIDTH} px WebP: peak RSS growth {growth:.1f} MB "
          f"(RSS {before:.0f} MB before, peak {after:.0f} MB; target <= 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    source = photo(4000, 3000, "source-4000x3000.jpg")
    print(f"source: 4000x3000 JPEG, {source.stat().st_size / 1e6:.1f} MB -> {WIDTH} px WebP q{QUALITY}")
    with tempfile.TemporaryDirectory() as scratch:
        compare(args, source, Path(scratch))
    measure_rss()


if __name__ == "__main__":
    main()
