"""Office → PDF: the warm LibreOffice pool beside a cold ``soffice --convert-to pdf`` per file, in one run.

    python bench/documents.py [--files 20] [--instances 2]

Converts ``--files`` docx and ``--files`` pptx (made by python-docx and python-pptx, a few pages each):
(a) through ``OfficePool`` with ``--instances`` warm instances, ``--instances`` conversions at a time;
(b) cold: ``soffice --headless --convert-to pdf`` once per file, in ``--instances`` lanes at a time, each
lane with its own profile folder made before timing starts (the fairest cold start: no profile creation
timed). Prints files/s and the ratio (a)/(b); the target is at least 3x.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.documents.pool import OfficePool  # noqa: E402
from engine.documents.settings import DocumentSettings  # noqa: E402
from tests.documents import docx_bytes, pptx_bytes  # noqa: E402

PARAGRAPH = ("The harbour authority met on Tuesday to review the tide tables, the dredging schedule and the "
             "budget for the new lighthouse lens; members asked for a revised estimate by the next meeting. ")


def make_files(folder: Path, count: int) -> list[Path]:
    files = []
    for index in range(count):
        word = folder / f"report-{index:02d}.docx"
        word.write_bytes(docx_bytes("\n".join(PARAGRAPH * 3 for _ in range(12 + index % 5)), title=f"Report {index}"))
        deck = folder / f"deck-{index:02d}.pptx"
        deck.write_bytes(pptx_bytes([(f"Slide {n} of deck {index}", PARAGRAPH[:120]) for n in range(6)], notes="notes"))
        files += [word, deck]
    return files


async def warm(files: list[Path], out: Path, instances: int) -> tuple[float, int]:
    pool = OfficePool(DocumentSettings(instances=instances), out / "pool")
    try:
        # one conversion per instance before timing: every instance is started and warm
        await asyncio.gather(*(pool.convert(files[i], out / f"warmup-{i}.pdf") for i in range(instances)))
        queue: asyncio.Queue[Path] = asyncio.Queue()
        for path in files:
            queue.put_nowait(path)

        async def lane() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                await pool.convert(path, out / f"{path.stem}.pdf")

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(instances)))
        return time.perf_counter() - started, pool.started
    finally:
        await pool.close()


def cold_one(path: Path, out: Path, profile: Path) -> None:
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf",
         "--outdir", str(out), str(path)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
    )


async def cold(files: list[Path], out: Path, lanes: int) -> float:
    profiles = [out / f"profile-{i}" for i in range(lanes)]
    for i, profile in enumerate(profiles):  # profiles made before timing
        cold_one(files[i], out / "warmup", profile)
    queue: asyncio.Queue[Path] = asyncio.Queue()
    for path in files:
        queue.put_nowait(path)

    async def lane(profile: Path) -> None:
        while not queue.empty():
            path = queue.get_nowait()
            await asyncio.to_thread(cold_one, path, out, profile)

    started = time.perf_counter()
    await asyncio.gather(*(lane(p) for p in profiles))
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20, help="docx files, and as many pptx files")
    parser.add_argument("--instances", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("soffice") is None:
        sys.exit("LibreOffice is not installed (make libreoffice)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "in").mkdir()
        files = make_files(folder / "in", args.files)
        for name in ("warm", "cold", "cold/warmup"):
            (folder / name).mkdir()
        warm_s, starts = await warm(files, folder / "warm", args.instances)
        cold_s = await cold(files, folder / "cold", args.instances)
        produced = len(list((folder / "warm").glob("*.pdf"))) - args.instances, len(list((folder / "cold").glob("*.pdf")))
    n = len(files)
    print(f"{n} files ({args.files} docx + {args.files} pptx), {args.instances} at a time; PDFs made: {produced}")
    print("| run | seconds | files/s | ratio to cold |\n| --- | --- | --- | --- |")
    print(f"| cold soffice --convert-to pdf per file | {cold_s:.1f} | {n / cold_s:.2f} | 1.00 |")
    print(f"| warm pool ({args.instances} instances, {starts} starts) | {warm_s:.1f} | {n / warm_s:.2f} | "
          f"{cold_s / warm_s:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
