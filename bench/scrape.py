"""Scrape throughput: a generated local site of 200 pages x 10 images crawled to depth 2 by Picsha and by
Scrapy (with its ImagesPipeline), in the same run, with politeness delays off and the same per-host
concurrency (2). Picsha also sniffs, stores, de-duplicates and thumbnails every image (analysis off).

    pip install scrapy          # bench-only; not a Picsha dependency (or: pip install -e '.[bench]')
    python bench/scrape.py [--pages 200] [--images 10]

Each side runs in its own process (so peak RSS is its own); the site is served by a third (uvicorn with
static files). Prints pages+images per second for each, their ratio, and each side's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HUBS = 19


def make_site(folder: Path, pages: int, images: int) -> None:
    """index.html -> HUBS hub pages -> the leaf pages (depth 2); each page shows ``images`` distinct JPEGs."""
    import pyvips

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img").mkdir(exist_ok=True)
    base = pyvips.Image.xyz(320, 240)
    names = ["index.html"] + [f"hub{n}.html" for n in range(HUBS)] + [f"p{n}.html" for n in range(pages - 1 - HUBS)]
    children: dict[str, list[str]] = {"index.html": names[1:1 + HUBS]}
    for index, leaf in enumerate(names[1 + HUBS:]):
        children.setdefault(f"hub{index % HUBS}.html", []).append(leaf)
    counter = 0
    for name in names:
        tags = []
        for _ in range(images):
            path = folder / "img" / f"i{counter}.jpg"
            if not path.exists():
                noise = pyvips.Image.gaussnoise(320, 240, sigma=20, mean=0, seed=counter)
                bands = [(base[0] * 255 / 320 + noise), (base[1] * 255 / 240 + noise), (noise + 128)]
                image = bands[0].bandjoin(bands[1:]).cast("uchar").copy(interpretation="srgb")
                image.write_to_file(str(path), Q=85)
            tags.append(f'<img src="/img/i{counter}.jpg" alt="{counter}">')
            counter += 1
        links = "".join(f'<a href="/{child}">{child}</a> ' for child in children.get(name, []))
        (folder / name).write_text(f"<!doctype html><html><body><h1>{name}</h1>{''.join(tags)}{links}</body></html>")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    code = ("import uvicorn, sys; from starlette.applications import Starlette; from starlette.routing import Mount; "
            "from starlette.staticfiles import StaticFiles; "
            "app = Starlette(routes=[Mount('/', StaticFiles(directory=sys.argv[1], html=True))]); "
            "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning', access_log=False)")
    process = subprocess.Popen([sys.executable, "-c", code, str(folder), str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the site server did not start")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the two sides, each run in its own process ------------------------------------------------------------

async def picsha_side(start_url: str, port: int, work: Path, max_files: int) -> dict[str, float]:
    from ipaddress import ip_network

    from engine import Engine, Settings
    from engine.assets import IngestConfig
    from engine.auth import Principal
    from engine.enrich.settings import AnalysisDefaults
    from engine.enrich.skills import ANALYSIS_FLAGS
    from engine.scrape.models import ScrapeRequest, ScrapeResult

    settings = Settings(data_dir=work / "picsha")
    settings.enrich.defaults = AnalysisDefaults(**{flag: False for flag in ANALYSIS_FLAGS}, location_lookup=False)
    settings.enrich.warm_up = False
    settings.ingest.fetch_allowed_networks = [ip_network("127.0.0.1/32")]
    settings.ingest.fetch_allowed_ports = [80, 443, port]
    settings.scrape.delay_s = 0.0
    settings.scrape.host_concurrency = 2
    settings.scrape.max_files_cap = max_files
    settings.scrape.max_pages = 10_000
    off = IngestConfig(**{flag: False for flag in ANALYSIS_FLAGS}, location_lookup=False, pre_render_sizes=False)
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        started, cpu = time.perf_counter(), time.process_time()
        queued = await engine.scrape.start(owner, ScrapeRequest(url=start_url, sniper_mode=False, crawl_depth=2,
                                                                max_files=max_files, config=off))
        await engine.jobs.wait(queued.job_id, 3600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        job = await engine.jobs.get(owner.account_id, queued.job_id)
        result = ScrapeResult.model_validate(job.result)
    return {"seconds": elapsed, "cpu_s": cpu, "pages": result.pages_visited, "images": result.assets.count,
            "rss_mb": peak_rss_mb(), "skipped": result.skipped_count, "first_skips": [
                f"{s.reason.value}: {s.detail}" for s in result.skipped[:3]]}


def scrapy_side(start_url: str, work: Path) -> dict[str, float]:
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor

    class SiteSpider(scrapy.Spider):
        name = "site"
        links = LinkExtractor()

        def parse(self, response):  # type: ignore[no-untyped-def]
            self.crawler.stats.inc_value("bench/pages")
            yield {"image_urls": [response.urljoin(src) for src in response.css("img::attr(src)").getall()]}
            for link in self.links.extract_links(response):
                yield response.follow(link.url, callback=self.parse)

    spider = SiteSpider
    process = CrawlerProcess(settings={
        "ITEM_PIPELINES": {"scrapy.pipelines.images.ImagesPipeline": 1}, "IMAGES_STORE": str(work / "scrapy"),
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2, "CONCURRENT_REQUESTS": 2, "DOWNLOAD_DELAY": 0, "DEPTH_LIMIT": 2,
        "ROBOTSTXT_OBEY": True, "LOG_LEVEL": os.environ.get("BENCH_SCRAPY_LOG", "ERROR"), "TELNETCONSOLE_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7", "AUTOTHROTTLE_ENABLED": False,
    })
    crawler = process.create_crawler(spider)
    started, cpu = time.perf_counter(), time.process_time()
    process.crawl(crawler, start_urls=[start_url])
    process.start()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stats = crawler.stats.get_stats()
    images = sum(1 for _ in (work / "scrapy").rglob("*.jpg"))
    return {"seconds": elapsed, "cpu_s": cpu, "pages": stats.get("bench/pages", 0), "images": images,
            "rss_mb": peak_rss_mb()}


def run_side(side: str, start_url: str, port: int, max_files: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-scrape-{side}-") as work:
        command = [sys.executable, __file__, "--side", side, "--url", start_url, "--port", str(port),
                   "--work", work, "--max-files", str(max_files)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ}).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--side", choices=["picsha", "scrapy"])
    parser.add_argument("--url"), parser.add_argument("--port", type=int), parser.add_argument("--work")
    parser.add_argument("--max-files", type=int, default=0)
    args = parser.parse_args()
    if args.side == "picsha":
        print(json.dumps(asyncio.run(picsha_side(args.url, args.port, Path(args.work), args.max_files))))
        return
    if args.side == "scrapy":
        print(json.dumps(scrapy_side(args.url, Path(args.work))))
        return
    site = ROOT / ".bench-data" / f"scrape-site-{args.pages}x{args.images}"
    make_site(site, args.pages, args.images)
    port = free_port()
    server = serve(site, port)
    try:
        start_url = f"http://127.0.0.1:{port}/index.html"
        total = args.pages * args.images
        results = {side: run_side(side, start_url, port, total) for side in ("scrapy", "picsha")}
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"site: {args.pages} pages x {args.images} images, depth 2, per-host concurrency 2, no delays")
    rates, per_cpu = {}, {}
    for side, found in results.items():
        items = found["pages"] + found["images"]
        rates[side], per_cpu[side] = items / found["seconds"], items / found["cpu_s"]
        print(f"{side:7s} {found['pages']:4.0f} pages {found['images']:5.0f} images in {found['seconds']:6.2f} s: "
              f"{rates[side]:7.1f} items/s, {found['cpu_s']:6.2f} CPU s ({per_cpu[side]:6.1f} items per CPU s), "
              f"peak RSS {found['rss_mb']:.0f} MiB")
        if found.get("skipped"):
            print(f"        skipped: {found['skipped']} e.g. {found['first_skips']}")
    print(f"ratio Picsha / Scrapy: {rates['picsha'] / rates['scrapy']:.2f}x (target >= 1.0); per CPU second "
          f"(the process's threads included; steadier on a shared machine): {per_cpu['picsha'] / per_cpu['scrapy']:.2f}x")


if __name__ == "__main__":
    main()
