"""Ingest throughput: N mixed JPEG/PNG files of 2-12 megapixels, analysis off, beside a plain copy.

    python bench/ingest.py [--files 200] [--concurrency 1 4]

Prints files/s and MB/s for Picsha's ingest (engine path: stage, sniff, probe, EXIF, thumbnail, blob store,
catalog) and for a plain copy of the same files into a folder, measured in the same run, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestConfig, IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402

CACHE = Path(__file__).resolve().parents[1] / ".bench-data" / "ingest"
ANALYSIS_OFF = IngestConfig(
    auto_tag=False, auto_summarize=False, vectorize=False, location_lookup=False,
    pre_render_sizes=False, safe_search=False, ocr=False,
)


def make_corpus(count: int) -> list[Path]:
    """Photo-like files (smooth gradients plus noise), made once and cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    files = []
    for index in range(count):
        megapixels = rng.uniform(2, 12)
        width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
        height = int(width * 3 / 4)
        fmt = "jpg" if index % 2 == 0 else "png"
        path = CACHE / f"img-{index:03d}-{width}x{height}.{fmt}"
        if not path.exists():
            x = pyvips.Image.xyz(width, height)
            noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
            bands = [((x[0] * 255 / width) + noise).cast("uchar"), ((x[1] * 255 / height) + noise).cast("uchar"),
                     (((x[0] + x[1]) * 128 / width) + noise).cast("uchar")]
            image = bands[0].bandjoin(bands[1:]).copy(interpretation="srgb")
            image.write_to_file(str(path), **({"Q": 88} if fmt == "jpg" else {"compression": 1}))
        files.append(path)
    return files


def plain_copy(files: list[Path], target: Path) -> float:
    target.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for path in files:
        shutil.copyfile(path, target / path.name)
    return time.perf_counter() - start


async def picsha_ingest(files: list[Path], data_dir: Path, concurrency: int) -> float:
    async with Engine.open(Settings(data_dir=data_dir)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        options = IngestOptions(config=ANALYSIS_OFF)
        queue = list(files)
        start = time.perf_counter()

        async def worker() -> None:
            while queue:
                await engine.ingest.from_path(owner, queue.pop(), options)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    files = make_corpus(args.files)
    total_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"{len(files)} files, {total_mb:.0f} MB, {sum('png' in p.suffix for p in files)} PNG")
    with tempfile.TemporaryDirectory() as scratch:
        copy_s = plain_copy(files, Path(scratch) / "copy")
        print(f"{'plain copy':<24} {len(files) / copy_s:8.1f} files/s {total_mb / copy_s:8.1f} MB/s")
        for concurrency in args.concurrency:
            took = asyncio.run(picsha_ingest(files, Path(scratch) / f"picsha-{concurrency}", concurrency))
            print(
                f"{f'picsha ingest (c={concurrency})':<24} {len(files) / took:8.1f} files/s {total_mb / took:8.1f} MB/s"
                f"   ratio to plain copy: {copy_s / took:.3f}"
            )


if __name__ == "__main__":
    main()
