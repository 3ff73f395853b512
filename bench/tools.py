"""Image tools beside the library calls they stand for, file pipelines beside one render, in one run.

    python bench/tools.py [--repeat 7] [--batch 100]

(1) Per libvips tool: the tool through ``engine.imaging.chain`` (sniffed input, decode checks, encode) beside
the same operation written directly with pyvips, on a 2000x1500 JPEG, libvips' operation cache off; the ratio
tool / direct (goal <= 1.15).
(2) A 3-step file pipeline (resize -> compress -> watermark-text) on a 4000x3000 JPEG beside one render with
the same parameters (goal <= 1.2). (3) compress targetSizeKB: encodes used and the size reached for several
targets (goal: within 5% under the target in <= 6 encodes). (4) A batch of photos through the engine's batch
(parallel on the render workers) beside the same files one after another (goal >= 1.7x on 2 cores), with the
process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyvips

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine, Settings  # noqa: E402
from engine.auth import Principal  # noqa: E402
from engine.imaging import Workbench, chain  # noqa: E402
from engine.render import RenderParams  # noqa: E402
from engine.render.settings import RenderSettings  # noqa: E402
from bench.render import photo as render_photo  # noqa: E402
from tools_manifest.image_tools import get_image_tool  # noqa: E402


def photo(width: int, height: int) -> Path:
    """A photo-like JPEG (the render benchmark's), made once and kept between runs."""
    return render_photo(width, height, f"photo-{width}x{height}.jpg")


def median_s(work: Callable[[], object], repeat: int) -> float:
    work()  # warm: libvips' operation cache and lazy imports
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def tool_run(tool_id: str, path: Path, settings: dict[str, Any], work: Path) -> Callable[[], object]:
    spec = get_image_tool(tool_id)
    assert spec is not None, tool_id
    bench = Workbench(render=RenderSettings())
    parsed = spec.parse(settings)

    def run() -> object:
        return chain.run([(spec.operation, parsed)], [chain.sniffed(path, path.name)], bench, work)

    return run


def per_tool(path: Path, repeat: int, work: Path) -> None:
    name = str(path)
    cases: list[tuple[str, dict[str, Any], Callable[[], object]]] = [
        ("resize", {"width": 800}, lambda: pyvips.Image.thumbnail(name, 800).write_to_buffer(".jpg", Q=82)),
        ("crop", {"left": 400, "top": 300, "width": 1000, "height": 800},
         lambda: pyvips.Image.new_from_file(name).autorot().crop(400, 300, 1000, 800).write_to_buffer(".jpg", Q=82)),
        ("rotate", {"angle": 90}, lambda: pyvips.Image.new_from_file(name).autorot().rot90().write_to_buffer(".jpg", Q=82)),
        ("convert", {"format": "webp", "quality": 80},
         lambda: pyvips.Image.new_from_file(name, access="sequential").autorot().write_to_buffer(".webp", Q=80)),
        ("compress", {"quality": 60},
         lambda: pyvips.Image.new_from_file(name, access="sequential").autorot().write_to_buffer(".jpg", Q=60)),
    ]
    print(f"(1) tools beside pyvips on a {pyvips.Image.new_from_file(name).width}px JPEG, median of {repeat}")
    print(f"    {'tool':<10} {'tool ms':>8} {'pyvips ms':>10} {'ratio':>6}")
    for tool_id, settings, direct in cases:
        mine = median_s(tool_run(tool_id, path, settings, work), repeat)
        theirs = median_s(direct, repeat)
        print(f"    {tool_id:<10} {mine * 1000:8.1f} {theirs * 1000:10.1f} {mine / theirs:6.2f}")


def pipeline_vs_render(path: Path, repeat: int, work: Path) -> None:
    steps_wanted = [("resize", {"width": 1200}), ("compress", {"quality": 80}), ("watermark-text", {"text": "(c) 2026"})]
    specs = [(get_image_tool(tool_id), settings) for tool_id, settings in steps_wanted]
    if any(spec is None for spec, _ in specs):
        print("(2) skipped: watermark-text is not in this build")
        return
    bench = Workbench(render=RenderSettings())
    steps = [(spec.operation, spec.parse(settings)) for spec, settings in specs if spec is not None]

    def pipeline() -> object:
        return chain.run(steps, [chain.sniffed(path, path.name)], bench, work)

    params = RenderParams(w=1200, q=80, watermark="(c) 2026", format="jpeg")

    def one_render() -> object:
        picture = chain.render_on(chain.sniffed(path, path.name), params, bench)
        return chain.encode(picture.with_encoding(quality=80))

    ours, render = median_s(pipeline, repeat), median_s(one_render, repeat)
    print(f"(2) resize -> compress -> watermark-text on 4000x3000: pipeline {ours * 1000:.0f} ms, one render "
          f"{render * 1000:.0f} ms, ratio {ours / render:.2f} (goal <= 1.2)")


def target_sizes(path: Path, work: Path) -> None:
    print("(3) compress targetSizeKB on 4000x3000 (encodes counted; goal: within 5% under, <= 6 encodes)")
    writes = 0
    real_write = chain._write

    def counted(picture: Any, quality: int | None) -> bytes:
        nonlocal writes
        writes += 1
        return real_write(picture, quality)

    chain._write = counted  # type: ignore[assignment]
    try:
        for target in (250, 500, 1000, 2000):
            writes = 0
            out = tool_run("compress", path, {"targetSizeKB": target}, work)()
            size = len(out[0].data)  # type: ignore[index]
            print(f"    target {target:>5} KB: {size / 1024:7.1f} KB ({size / (target * 1024):.3f} of target) "
                  f"in {writes} encodes")
    finally:
        chain._write = real_write  # type: ignore[assignment]


async def batch_vs_sequential(count: int) -> None:
    files = [photo(1600 + (n % 5), 1200) for n in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        settings.jobs.in_process = False
        settings.enrich.warm_up = False
        async with Engine.open(settings, run_jobs=False) as engine:
            owner = Principal(account_id=engine.owner_account_id, key_id=None)
            spec = get_image_tool("resize")
            assert spec is not None
            steps = [(spec.operation, spec.parse({"width": 800}))]
            staged = [engine.imaging.stage(path, path.name) for path in files]
            started = time.perf_counter()
            for file in staged:
                await engine.imaging.run_files(owner, steps, [file], label="resize", wait=True)
            sequential = time.perf_counter() - started
            started = time.perf_counter()
            done = 0
            async for item in engine.imaging.batch(owner, steps, staged, label="resize"):
                done += 1 if item.outputs else 0
            parallel = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(4) {count} photos 1600x1200 -> 800 px on {settings.render.workers} render workers: one after another "
          f"{count / sequential:.1f}/s, batch {count / parallel:.1f}/s ({done} done), speed-up {sequential / parallel:.2f}x "
          f"(goal >= 1.7); peak RSS of this process {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    pyvips.cache_set_max(0)  # no side reuses the other's (or its own last) decode
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        per_tool(photo(2000, 1500), args.repeat, work)
        big = photo(4000, 3000)
        pipeline_vs_render(big, args.repeat, work)
        target_sizes(big, work)
    asyncio.run(batch_vs_sequential(args.batch))


if __name__ == "__main__":
    main()
