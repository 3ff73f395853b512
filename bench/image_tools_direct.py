"""Image tools beside the same work written directly with the library each uses, in one run.

    python bench/image_tools_direct.py [--rounds 5]

For the optimization, utilities and format & conversion tools: the tool through the engine's chain
(settings parsed, inputs sniffed, the render's checks and steps, the file written) against a few lines of
the library alone doing the same job on the same input. Each pair runs interleaved, best of ``rounds``;
the ratio is tool / direct (libvips tools aim at <= 1.15).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import img2pdf
import numpy as np
import pypdfium2
import pyvips
import segno
import vtracer
import zxingcpp
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.imaging import ToolFile, Workbench  # noqa: E402
from engine.imaging.chain import run, sniffed  # noqa: E402
from engine.render.settings import RenderSettings  # noqa: E402
from tools_manifest.image_tools import get_image_tool  # noqa: E402


def photo(width: int, height: int) -> pyvips.Image:
    x = pyvips.Image.xyz(width, height)
    noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
    bands = [((x[0] * 255 / width) + noise).cast("uchar"), ((x[1] * 255 / height) + noise).cast("uchar"),
             (((x[0] + x[1]) * 128 / width) + noise).cast("uchar")]
    return bands[0].bandjoin(bands[1:]).copy(interpretation="srgb").copy_memory()


def inputs(folder: Path) -> dict[str, Path]:
    big = photo(2400, 1600)
    files = {"photo.jpg": big.jpegsave_buffer(Q=88), "small.png": photo(600, 400).pngsave_buffer(),
             "logo.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><circle cx="128" cy="128" '
                          b'r="100" fill="#c33"/><rect x="60" y="60" width="80" height="80" fill="#33c"/></svg>')}
    frames = [photo(320, 240).embed(i * 8, 0, 320, 240, extend="copy") for i in range(12)]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 240)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * 12)
    files["anim.gif"] = strip.gifsave_buffer()
    pdf = io.BytesIO()
    pages = [Image.new("RGB", (612, 792), (255, 255, 255 - 20 * i)) for i in range(4)]
    pages[0].save(pdf, "PDF", save_all=True, append_images=pages[1:])
    files["doc.pdf"] = pdf.getvalue()
    qr = segno.make("https://example.com/bench", error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8)
    files["qr.png"] = buffer.getvalue()
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def direct_cases(p: dict[str, Path]) -> dict[str, Callable[[], Any]]:
    photo_path, svg, gif, pdf = str(p["photo.jpg"]), p["logo.svg"].read_bytes(), str(p["anim.gif"]), p["doc.pdf"]
    keep_icc = pyvips.enums.ForeignKeep.ICC

    def pdf_of_photo() -> bytes:
        return img2pdf.convert(photo_path, layout_fun=img2pdf.get_layout_fun((595.28, 841.89),
                                                                              fit=img2pdf.FitMode.into))

    def pages() -> list[bytes]:
        document = pypdfium2.PdfDocument(str(pdf))
        out = []
        for page in document:
            pil = page.render(scale=150 / 72).to_pil().convert("RGB")
            image = pyvips.Image.new_from_memory(pil.tobytes(), pil.width, pil.height, 3, "uchar")
            out.append(image.pngsave_buffer(compression=6))
        document.close()
        return out

    def barcodes() -> list[Any]:
        grey = pyvips.Image.new_from_file(str(p["qr.png"])).colourspace("b-w")[0]
        array = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
        return zxingcpp.read_barcodes(array)

    def favicons() -> list[bytes]:
        fitted = pyvips.Image.thumbnail(str(p["small.png"]), 512, height=512).bandjoin_const([255])
        master = fitted.gravity("centre", 512, 512, extend="background", background=[0, 0, 0, 0]).copy_memory()
        made = [master.thumbnail_image(s, height=s).pngsave_buffer(compression=9)
                for s in (16, 32, 48, 64, 96, 128, 256, 180, 192, 512)]
        ico = io.BytesIO()
        Image.open(io.BytesIO(master.pngsave_buffer())).save(ico, "ICO", sizes=[(16, 16), (32, 32), (48, 48)])
        return [*made, ico.getvalue()]

    def traced() -> str:
        return vtracer.convert_raw_image_to_svg(pyvips.Image.new_from_file(str(p["small.png"])).pngsave_buffer(
            compression=1), img_format="png", colormode="color", mode="spline")

    return {
        "optimize-for-web": lambda: pyvips.Image.thumbnail(photo_path, 1024).webpsave_buffer(Q=80, keep=keep_icc),
        "strip-metadata": lambda: pyvips.Image.new_from_file(photo_path).jpegsave_buffer(Q=82, keep=keep_icc),
        "svg-to-raster": lambda: pyvips.Image.thumbnail_buffer(svg, 1024, height=1024).pngsave_buffer(compression=6),
        "gif-tools": lambda: pyvips.Image.thumbnail(f"{gif}[n=-1]", 160, height=100_000).gifsave_buffer(),
        "image-to-pdf": pdf_of_photo,
        "pdf-to-image": pages,
        "barcode-read": barcodes,
        "favicon": favicons,
        "vectorize": traced,
        "qr-generate": lambda: segno.make("https://example.com/bench", error="m").png_data_uri(scale=16),
    }


TOOL_CASES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "optimize-for-web": (["photo.jpg"], {"maxWidthPx": 1024, "quality": 80}),
    "strip-metadata": (["photo.jpg"], {}),
    "svg-to-raster": (["logo.svg"], {"width": 1024}),
    "gif-tools": (["anim.gif"], {"action": "resize", "width": 160}),
    "image-to-pdf": (["photo.jpg"], {"pageSize": "A4"}),
    "pdf-to-image": (["doc.pdf"], {"dpi": 150}),
    "barcode-read": (["qr.png"], {}),
    "favicon": (["small.png"], {}),
    "vectorize": (["small.png"], {"colorMode": "color", "pathMode": "spline"}),
    "qr-generate": ([], {"data": "https://example.com/bench", "size": 512}),
}


def best(action: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pyvips.cache_set_max(0)  # neither side may reuse the other's cached operations
    bench = Workbench(render=RenderSettings())
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        paths = inputs(work)
        direct = direct_cases(paths)
        print("| tool | tool ms | direct ms | ratio |\n| --- | --- | --- | --- |")
        for tool_id, (names, settings) in TOOL_CASES.items():
            spec = get_image_tool(tool_id)
            assert spec is not None
            step = (spec.operation, spec.parse(settings))

            def through_tool() -> Any:
                files: list[ToolFile] = [sniffed(paths[name], name) for name in names]
                return run([step], files, bench, work)

            through_tool(), direct[tool_id]()  # warm both
            tool_s = direct_s = float("inf")
            for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits both alike
                tool_s = min(tool_s, best(through_tool, 1))
                direct_s = min(direct_s, best(direct[tool_id], 1))
            print(f"| `{tool_id}` | {tool_s * 1000:.1f} | {direct_s * 1000:.1f} | {tool_s / direct_s:.2f} |")


if __name__ == "__main__":
    main()
