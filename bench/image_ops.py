"""Image tools (adjustments, overlays, layout, vision) beside the same work written directly with the library.

    python bench/image_ops.py [--repeat 5] [--side 2400]

Each libvips tool runs through the tool chain (sniffed file, decode with the render checks, the
operation, the encoder) and, in the same run, as a plain pyvips program doing the same pixels on the same
JPEG (load, operation, JPEG at the same quality). The ratio is tool / plain: the chain's overhead; the
target is at most 1.15. The OpenCV and numpy tools print their time per megapixel and, for seam carving,
the time at its largest allowed size.
"""

from __future__ import annotations

import argparse
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

from engine.imaging import ToolFile, Workbench  # noqa: E402
from engine.imaging.chain import run, sniffed  # noqa: E402
from engine.render.settings import RenderSettings  # noqa: E402
from tools_manifest.image_tools import get_image_tool  # noqa: E402

QUALITY = 82  # the encoder's own default for JPEG (q=auto)


def photo(folder: Path, width: int, height: int, name: str = "photo.jpg") -> Path:
    x = pyvips.Image.xyz(width, height)
    noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
    bands = [((x[0] * 255 / width) + noise).cast("uchar"), ((x[1] * 255 / height) + noise).cast("uchar"),
             (((x[0] + x[1]) * 128 / width) + noise).cast("uchar")]
    path = folder / name
    bands[0].bandjoin(bands[1:]).copy(interpretation="srgb").jpegsave(str(path), Q=88)
    return path


def timed(work: Callable[[], Any], repeat: int) -> float:
    work()  # warm: first-use costs (fonts, models) are not what is measured
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tool(tool_id: str, files: list[ToolFile], settings: dict[str, Any], bench: Workbench, work: Path) -> Callable[[], Any]:
    spec = get_image_tool(tool_id)
    assert spec is not None
    steps = [(spec.operation, spec.parse(settings))]
    return lambda: run(steps, files, bench, work)


def _save(image: pyvips.Image) -> bytes:
    return image.jpegsave_buffer(Q=QUALITY, keep=pyvips.enums.ForeignKeep.ICC)


def plain_adjust(path: Path) -> bytes:
    image = pyvips.Image.new_from_file(str(path), access="sequential")
    return _save(((image.cast("float") + 12.8) - 128) * 2 ** 0.4 + 128)


def plain_unsharp(path: Path) -> bytes:
    image = pyvips.Image.new_from_file(str(path)).cast("float")
    return _save(image + (image - image.gaussblur(1.5)) * 1.5)


def plain_border(path: Path) -> bytes:
    image = pyvips.Image.new_from_file(str(path), access="sequential")
    return _save(image.embed(40, 40, image.width + 80, image.height + 80, extend="background", background=[0, 0, 0]))


def plain_watermark(path: Path) -> bytes:
    image = pyvips.Image.new_from_file(str(path))
    mask = pyvips.Image.text("(c) Picsha", font="sans bold 120px", dpi=72)
    mark = (mask.new_from_image([255, 255, 255])).cast("uchar").bandjoin((mask * 0.5).cast("uchar"))
    return _save(image.composite2(mark.copy(interpretation="srgb"), "over", x=image.width - mark.width - 48,
                                  y=image.height - mark.height - 48).extract_band(0, n=3))


def plain_stitch(paths: list[Path]) -> bytes:
    images = [pyvips.Image.new_from_file(str(p)) for p in paths]
    return _save(pyvips.Image.arrayjoin(images, across=len(images), shim=10, background=[255, 255, 255]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--side", type=int, default=2400, help="photo width (height is 2/3 of it)")
    args = parser.parse_args()
    pyvips.cache_set_max(0)  # no run may reuse the pixels an earlier run decoded
    bench = Workbench(render=RenderSettings())
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        width, height = args.side, args.side * 2 // 3
        path = photo(work, width, height)
        second = photo(work, width, height, "second.jpg")
        file, other = sniffed(path, "photo.jpg"), sniffed(second, "second.jpg")
        print(f"{width}x{height} JPEG, median of {args.repeat} runs\n")
        print("| tool | settings | tool s | plain pyvips s | ratio |\n| --- | --- | --- | --- | --- |")
        rows: list[tuple[str, dict[str, Any], list[ToolFile], Callable[[], Any]]] = [
            ("color-adjustments", {"brightness": 10, "contrast": 20}, [file], lambda: plain_adjust(path)),
            ("sharpening", {"mode": "unsharp", "amount": 150, "radius": 1.5}, [file], lambda: plain_unsharp(path)),
            ("border", {"width": 40}, [file], lambda: plain_border(path)),
            ("watermark-text", {"text": "(c) Picsha", "fontSize": 120}, [file], lambda: plain_watermark(path)),
            ("stitch", {"gap": 10}, [file, other], lambda: plain_stitch([path, second])),
        ]
        for tool_id, settings, files, plain in rows:
            mine = timed(tool(tool_id, files, settings, bench, work), args.repeat)
            base = timed(plain, args.repeat)
            print(f"| {tool_id} | `{settings}` | {mine:.3f} | {base:.3f} | {mine / base:.2f} |")
        print("\n| tool | settings | s | s per megapixel |\n| --- | --- | --- | --- |")
        megapixels = width * height / 1e6
        for tool_id, settings in (("noise-removal", {"quality": "fast"}), ("noise-removal", {"quality": "balanced"}),
                                  ("image-enhancement", {"mode": "auto"})):
            seconds = timed(tool(tool_id, [file], settings, bench, work), args.repeat)
            print(f"| {tool_id} | `{settings}` | {seconds:.3f} | {seconds / megapixels:.3f} |")
        small = sniffed(photo(work, 1024, 683, "small.jpg"), "small.jpg")
        best = timed(tool("noise-removal", [small], {"quality": "best"}, bench, work), 1)
        print(f"| noise-removal | `{{'quality': 'best'}}` (1024x683) | {best:.3f} | {best / 0.7:.3f} |")
        wide = sniffed(photo(work, 1536, 1024, "wide.jpg"), "wide.jpg")
        carve = timed(tool("content-aware-resize", [wide], {"width": 768, "height": 1024, "protectFaces": False},
                           bench, work), 1)
        print(f"| content-aware-resize | 1536x1024 to 768x1024 (256 seams at 1024 px high) | {carve:.3f} | - |")


if __name__ == "__main__":
    main()
