"""The library page with 10,000 assets: first page ready, search as you type at the API, scrolling the grid.

    python bench/library.py [--assets 10000] [--searches 200] [--scroll-s 12]

Seeds (once, kept in .bench-data/library-<assets>/) small distinct JPEGs through the engine's ingest with
analyses off, then runs ``picsha serve`` on that folder as its own process and measures, in Debian's
Chromium driven by Playwright:

- first page ready: from navigation start to every visible tile's thumbnail requested (its ``img`` has its
  signed render URL), and to every visible thumbnail decoded; beside the bare API call for the same page
  (``GET /v1/assets?page_size=100``) timed in the same run;
- search as you type: ``POST /v1/search`` as the page sends it (limit 100) for each prefix of typed words
  ("h", "ha", "har", ...), p50 and p99, after one warm-up query;
- scrolling: mouse-wheel steps through the grid for ``--scroll-s`` seconds, then a jump to the end (the
  scroll bar dragged down), while a PerformanceObserver collects long tasks (main-thread tasks over 50 ms)
  and requestAnimationFrame collects frame intervals.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestConfig, IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from tests.processes import picsha, picsha_env, stop_process, wait_until_serving  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
WORDS = ("harbour boat sunset beach mountain invoice receipt garden street market bridge river forest snow "
         "city night portrait family birthday wedding concert museum train airport kitchen poster").split()
ANALYSIS_OFF = IngestConfig(auto_tag=False, auto_summarize=False, vectorize=False, location_lookup=False,
                            pre_render_sizes=False, safe_search=False, ocr=False)
TYPED = ["harbour", "sunset beach", "museum", "train"]


def _picture(index: int) -> bytes:
    rng = random.Random(index)
    x = pyvips.Image.xyz(160, 120)
    bands = [((x[0] * rng.uniform(0.5, 1.6)) + rng.randint(0, 90)).cast("uchar"),
             ((x[1] * rng.uniform(0.5, 2.0)) + rng.randint(0, 120)).cast("uchar"),
             (((x[0] + x[1]) * rng.uniform(0.3, 0.9)) + rng.randint(0, 60)).cast("uchar")]
    return bands[0].bandjoin(bands[1:]).copy(interpretation="srgb").write_to_buffer(".jpg", Q=80)


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


async def seed(data_dir: Path, count: int) -> str:
    """The seeded folder and a key for its owner (made anew on every run; keys are stored hashed)."""
    marker = data_dir / "seeded"
    async with Engine.open(settings_for(data_dir), run_jobs=False) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        if not marker.exists():
            options = IngestOptions(config=ANALYSIS_OFF)
            started = time.perf_counter()
            next_index = iter(range(count))

            async def worker() -> None:
                for index in next_index:
                    rng = random.Random(index)
                    name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{index:05d}.jpg"
                    await engine.ingest.from_stream(owner, name, _one_chunk(_picture(index)), options)
                    if index % 1000 == 999:
                        print(f"  seeded {index + 1:,} in {time.perf_counter() - started:.0f} s", flush=True)

            await asyncio.gather(*(worker() for _ in range(4)))
            marker.write_text(str(count))
        return (await engine.keys.create_key(engine.owner_account_id, "bench library"))[1]


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(picsha("serve", "--port", str(port)), env=picsha_env(data_dir, PICSHA_PUBLIC_URL=url),
                                   stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    wait_until_serving(url, process, log)
    return process


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def api_numbers(url: str, key: str, searches: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=60) as http:
        http.post("/v1/search", json={"query": "warm up", "limit": 100})
        http.get("/v1/assets", params={"page_size": 100})
        pages = []
        for _ in range(20):
            started = time.perf_counter()
            assert http.get("/v1/assets", params={"page_size": 100}).status_code == 200
            pages.append((time.perf_counter() - started) * 1000)
        prefixes = [words[:n] for words in TYPED for n in range(1, len(words) + 1)]
        times, hits = [], []
        for index in range(searches):
            query = prefixes[index % len(prefixes)]
            started = time.perf_counter()
            answer = http.post("/v1/search", json={"query": query, "filters": {}, "limit": 100, "offset": 0})
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
            hits.append(len(answer.json()["results"]))
    return {"list_page_ms": statistics.median(pages), "search_p50_ms": statistics.median(times),
            "search_p99_ms": percentile(times, 0.99), "search_hits_mean": statistics.mean(hits)}


FIRST_PAGE_READY = """() => {
  const imgs = [...document.querySelectorAll('.tile:not([hidden]) img')];
  const grid = document.getElementById('grid');
  const visible = imgs.filter(img => {
    const tile = img.closest('.tile'); const top = tile.getBoundingClientRect().top;
    return top < grid.getBoundingClientRect().bottom;
  });
  return visible.length > 0 && visible.every(img => img.getAttribute('src')) ? performance.now() : 0;
}"""
FIRST_PAGE_DECODED = """() => {
  const imgs = [...document.querySelectorAll('.tile:not([hidden]) img')].filter(img => img.getAttribute('src'));
  const grid = document.getElementById('grid').getBoundingClientRect();
  const visible = imgs.filter(img => img.closest('.tile').getBoundingClientRect().top < grid.bottom);
  return visible.length > 0 && visible.every(img => img.complete && img.naturalWidth > 0) ? performance.now() : 0;
}"""
OBSERVE = """() => {
  window.__long = []; window.__frames = []; window.__scripts = [];
  const frame = window.requestAnimationFrame.bind(window);  // the time the page's own frame callbacks take
  window.requestAnimationFrame = callback => frame(now => {
    const started = performance.now(); callback(now); window.__scripts.push(performance.now() - started);
  });
  new PerformanceObserver(list => { for (const e of list.getEntries()) window.__long.push(e.duration); })
    .observe({ type: 'longtask', buffered: false });
  let last = performance.now();
  const tick = now => { window.__frames.push(now - last); last = now; if (!window.__stop) requestAnimationFrame(tick); };
  frame(tick);
}"""
STATIC_PAGE = """<!doctype html><style>body{margin:0} #g{height:100vh;overflow-y:auto}
#s{height:480000px;position:relative} .t{position:absolute;width:190px;height:220px;background:#ccd}</style>
<div id=g><div id=s></div></div><script>
const s = document.getElementById('s');
for (let i = 0; i < 2000; i++) { const t = document.createElement('div'); t.className = 't';
  t.style.transform = `translate(${(i % 5) * 200}px, ${Math.floor(i / 5) * 240}px)`; s.append(t); }
</script>"""


def _wheel(page: Any, seconds: float, step_px: int) -> int:
    page.mouse.move(700, 500)
    deadline = time.monotonic() + seconds
    steps = 0
    while time.monotonic() < deadline:
        page.mouse.wheel(0, step_px)
        page.wait_for_timeout(16)
        steps += 1
    return steps


def _static_floor(browser: Any, seconds: float, step_px: int) -> list[float]:
    """Long tasks while the same wheel scrolls a static page of boxes with no script: the machine's noise."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_content(STATIC_PAGE)
    page.evaluate(OBSERVE)
    _wheel(page, seconds, step_px)
    page.wait_for_timeout(500)
    found = page.evaluate("() => window.__long")
    page.close()
    return found


def browser_numbers(url: str, key: str, scroll_s: float, wheel_px: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(f"sessionStorage.setItem('picsha.token', {key!r})")
        page = context.new_page()
        page.goto(url + "/")  # once, so the browser's cache holds the page's files as a returning visitor's does
        page.wait_for_function(FIRST_PAGE_DECODED, timeout=60_000)
        first, decoded = [], []
        for _ in range(5):
            page.goto(url + "/")
            first.append(page.wait_for_function(FIRST_PAGE_READY, polling="raf", timeout=60_000).json_value())
            decoded.append(page.wait_for_function(FIRST_PAGE_DECODED, polling="raf", timeout=60_000).json_value())
        cold = browser.new_context(viewport={"width": 1280, "height": 900})
        cold.add_init_script(f"sessionStorage.setItem('picsha.token', {key!r})")
        cold_page = cold.new_page()
        cold_page.goto(url + "/")
        cold_first = cold_page.wait_for_function(FIRST_PAGE_READY, polling="raf", timeout=60_000).json_value()
        cold.close()

        total = page.locator("#status").inner_text()
        page.evaluate(OBSERVE)
        steps = _wheel(page, scroll_s, wheel_px)
        wheeled = page.evaluate("() => document.getElementById('grid').scrollTop")
        jump = page.evaluate("""() => new Promise(done => {  // the scroll bar dragged to the end: all tiles anew
          const grid = document.getElementById('grid'); grid.scrollTop = grid.scrollHeight;
          setTimeout(() => done(grid.scrollTop), 1500);
        })""")
        page.wait_for_timeout(500)
        page.evaluate("() => { window.__stop = true; }")
        long_tasks = page.evaluate("() => window.__long")
        scripts = page.evaluate("() => window.__scripts")
        frames = page.evaluate("() => window.__frames")
        rows = page.evaluate("() => document.querySelectorAll('.tile').length")
        floor = _static_floor(browser, scroll_s, wheel_px)
        browser.close()
    return {
        "first_page_ready_ms": statistics.median(first), "first_page_ready_cold_ms": cold_first,
        "first_page_decoded_ms": statistics.median(decoded), "long_tasks": len(long_tasks),
        "longest_task_ms": max(long_tasks, default=0.0), "frame_p50_ms": statistics.median(frames),
        "frame_p95_ms": percentile(frames, 0.95), "scrolled_px": wheeled, "script_p50_ms": statistics.median(scripts or [0.0]),
        "script_p95_ms": percentile(scripts or [0.0], 0.95), "script_max_ms": max(scripts, default=0.0),
        "floor_long_tasks": len(floor), "floor_longest_ms": max(floor, default=0.0), "wheel_steps": steps,
        "tiles_in_dom": rows, "status": total, "scroll_s": scroll_s, "jumped_to_px": jump,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--scroll-s", type=float, default=12.0)
    parser.add_argument("--wheel-px", type=int, default=600, help="pixels per wheel step (a step about every 30 ms)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed-only", action="store_true", help="make the seeded folder and stop")
    args = parser.parse_args()
    data_dir = ROOT / ".bench-data" / f"library-{args.assets}"
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    key = asyncio.run(seed(data_dir, args.assets))
    print(f"seeded folder ready in {time.perf_counter() - started:.1f} s: {data_dir}")
    if args.seed_only:
        return
    server = serve(data_dir, args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        api = api_numbers(url, key, args.searches)
        page = browser_numbers(url, key, args.scroll_s, args.wheel_px)
    finally:
        stop_process(server)
    print(f"\n{page['status']}, Chromium {CHROMIUM}, loopback")
    print(f"first page, thumbnails requested: {page['first_page_ready_ms']:.0f} ms (median of 5, page files cached); "
          f"{page['first_page_ready_cold_ms']:.0f} ms with an empty cache (target <= 1000 ms)")
    print(f"first page, thumbnails decoded:   {page['first_page_decoded_ms']:.0f} ms")
    print(f"bare API call for that page:      {api['list_page_ms']:.1f} ms "
          f"(page ready / API call: {page['first_page_ready_ms'] / api['list_page_ms']:.1f}x)")
    print(f"search as you type at the API:    p50 {api['search_p50_ms']:.1f} ms, p99 {api['search_p99_ms']:.1f} ms "
          f"over {args.searches} queries, {api['search_hits_mean']:.0f} hits on average (target p50 <= 100 ms)")
    print(f"scrolling {page['scrolled_px']:,} px in {page['wheel_steps']} wheel steps of {args.wheel_px} px over "
          f"{page['scroll_s']:.0f} s, then a jump to the end: {page['long_tasks']} long tasks, "
          f"longest {page['longest_task_ms']:.0f} ms (target: none over 50 ms); frame interval p50 "
          f"{page['frame_p50_ms']:.1f} ms, p95 {page['frame_p95_ms']:.1f} ms; {page['tiles_in_dom']} tiles in the DOM")
    print(f"the grid's own script per frame:  p50 {page['script_p50_ms']:.2f} ms, p95 {page['script_p95_ms']:.2f} ms, "
          f"max {page['script_max_ms']:.1f} ms")
    print(f"noise floor (same wheel over a static page, no script): {page['floor_long_tasks']} long tasks, "
          f"longest {page['floor_longest_ms']:.0f} ms")


if __name__ == "__main__":
    main()
