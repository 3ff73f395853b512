"""svg-to-raster, vectorize, gif-tools and pdf-to-image: outputs decoded, frames and pages counted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import pyvips
from PIL import Image
from pydantic import ValidationError

from engine.errors import InvalidInput, PicshaError
from engine.imaging import ImageFile, Workbench
from engine.imaging.chain import run
from engine.render.settings import RenderSettings
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.factories import pdf_bytes
from tools_manifest.image_tools import get_image_tool

FLAG_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50">'
            b'<rect width="50" height="50" fill="#ff0000"/><circle cx="75" cy="25" r="20" fill="#0000ff"/></svg>')
COLOURS = ([255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0])


def one(result: object) -> ImageFile:
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def solid(width: int, height: int, rgb: list[int]) -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=3) + rgb).cast("uchar").copy(interpretation="srgb")


def animation(delays: list[int] | None = None) -> bytes:
    """Four 40x30 frames: red, green, blue, yellow."""
    strip = pyvips.Image.arrayjoin([solid(40, 30, rgb) for rgb in COLOURS], across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 30)
    strip.set_type(pyvips.GValue.array_int_type, "delay", delays or [100, 200, 300, 400])
    return strip.write_to_buffer(".gif")


def frames_of(file: ImageFile) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(file.data, "", n=-1)


def test_svg_to_raster_sizes_and_background(stage: Stage, run_tool: RunTool) -> None:
    svg = stage(FLAG_SVG, "flag.svg")
    natural = one(run_tool("svg-to-raster", [svg], {}))
    image = decoded(natural)
    assert natural.filename == "flag.png" and (image.width, image.height) == (100, 50)
    assert image.getpoint(75, 25)[:3] == [0, 0, 255] and image.getpoint(97, 2)[3] == 0  # outside the circle: clear
    wide = decoded(one(run_tool("svg-to-raster", [svg], {"width": 400})))
    assert (wide.width, wide.height) == (400, 200) and wide.getpoint(100, 100)[:3] == [255, 0, 0]
    for settings, size in (({"dpi": 144}, (200, 100)), ({"scale": 0.5}, (50, 25)), ({"width": 90, "height": 90}, (90, 45))):
        made = decoded(one(run_tool("svg-to-raster", [svg], settings)))
        assert (made.width, made.height) == size, settings
    filled = one(run_tool("svg-to-raster", [svg], {"format": "jpeg", "background": "#00ff00"}))
    green = decoded(filled).getpoint(97, 2)
    assert filled.media_type == "image/jpeg" and green[1] > 200 and green[0] < 60


def test_svg_references_reach_nothing(tmp_path: Path, stage: Stage, run_tool: RunTool) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(solid(50, 50, [255, 255, 255]).write_to_buffer(".png"))
    hostile = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" '
               f'height="50"><image xlink:href="file://{secret}" width="50" height="50"/>'
               f'<image href="http://127.0.0.1:9/x.png" width="50" height="50"/></svg>').encode()
    made = decoded(one(run_tool("svg-to-raster", [stage(hostile, "hostile.svg")], {})))
    assert made.getpoint(25, 25)[3] == 0  # the referenced file was never read


def test_svg_to_raster_refuses_huge_outputs(stage: Stage, run_tool: RunTool) -> None:
    small_limits = Workbench(render=RenderSettings(max_output_pixels=100_000))
    with pytest.raises(PicshaError) as refused:
        run_tool("svg-to-raster", [stage(FLAG_SVG, "flag.svg")], {"width": 4000}, workbench=small_limits)
    assert refused.value.code == "render_output_too_large"
    with pytest.raises(InvalidInput) as sided:
        run_tool("svg-to-raster", [stage(FLAG_SVG, "flag.svg")], {"scale": 20, "dpi": 600})
    assert "at most 8192" in sided.value.message
    with pytest.raises(PicshaError):
        run_tool("svg-to-raster", [stage(solid(10, 10, [0, 0, 0]).write_to_buffer(".png"), "x.png")], {})


def test_vectorize_traces_colour_and_bw(stage: Stage, run_tool: RunTool) -> None:
    picture = solid(120, 80, [255, 255, 255]).insert(solid(40, 40, [200, 20, 20]), 10, 20)
    picture = picture.insert(solid(40, 40, [20, 20, 200]), 70, 20)
    png = stage(picture.write_to_buffer(".png"), "shapes.png")
    traced = one(run_tool("vectorize", [png], {"colorMode": "color", "pathMode": "polygon"}))
    assert traced.media_type == "image/svg+xml" and traced.filename == "shapes.svg" and b"<path" in traced.data
    drawn = pyvips.Image.svgload_buffer(traced.data)
    assert (drawn.width, drawn.height) == (120, 80)
    red, blue, paper = drawn.getpoint(30, 40), drawn.getpoint(90, 40), drawn.getpoint(5, 5)
    assert red[0] > 150 and red[2] < 80 and blue[2] > 150 and blue[0] < 80 and min(paper[:3]) > 200
    outline = one(run_tool("vectorize", [png], {"colorMode": "bw", "threshold": 128}))
    lines = pyvips.Image.svgload_buffer(outline.data)
    lines = lines.flatten(background=[255, 255, 255]) if lines.hasalpha() else lines
    assert lines.getpoint(30, 40)[0] < 60 and lines.getpoint(5, 5)[0] > 200
    with pytest.raises(ValidationError):
        run_tool("vectorize", [png], {"pathMode": "bezier"})


@pytest.fixture
def gif(stage: Stage):
    return stage(animation(), "a.gif")


def test_gif_resize_rotate_and_text_keep_frames(gif, run_tool: RunTool) -> None:
    resized = frames_of(one(run_tool("gif-tools", [gif], {"action": "resize", "width": 20})))
    assert (resized.width, resized.get("page-height"), resized.get("n-pages")) == (20, 15, 4)
    assert resized.getpoint(10, 15 * 2 + 7)[:3] == [0, 0, 255]  # the third frame is still blue
    turned = frames_of(one(run_tool("gif-tools", [gif], {"action": "rotate", "angle": 90})))
    assert (turned.width, turned.get("page-height"), turned.get("n-pages")) == (30, 40, 4)
    texted = one(run_tool("gif-tools", [gif], {"action": "add-text", "text": "HI", "fontSize": 14, "position": "center"}))
    lettered = frames_of(texted)
    assert lettered.get("n-pages") == 4 and texted.media_type == "image/gif"
    plain = frames_of(one(run_tool("gif-tools", [gif], {"action": "speed", "speed": 1})))
    assert (lettered - plain).abs().max() > 100  # the text is drawn
    with pytest.raises(ValidationError):
        run_tool("gif-tools", [gif], {"action": "resize"})
    with pytest.raises(ValidationError):
        run_tool("gif-tools", [gif], {"action": "rotate", "angle": 45})


def test_gif_reverse_speed_optimize_and_frames(gif, stage: Stage, run_tool: RunTool) -> None:
    reversed_ = frames_of(one(run_tool("gif-tools", [gif], {"action": "reverse"})))
    assert reversed_.getpoint(5, 5)[:3] == COLOURS[3] and list(reversed_.get("delay")) == [400, 300, 200, 100]
    faster = frames_of(one(run_tool("gif-tools", [gif], {"action": "speed", "speed": 2})))
    assert list(faster.get("delay")) == [50, 100, 150, 200] and faster.get("n-pages") == 4
    fastest = frames_of(one(run_tool("gif-tools", [gif], {"action": "speed", "speed": 10})))
    assert min(fastest.get("delay")) >= 20
    small = one(run_tool("gif-tools", [gif], {"action": "optimize", "colors": 4, "lossy": 8}))
    assert frames_of(small).get("n-pages") == 4 and small.filename == "a.gif"
    frames = run_tool("gif-tools", [gif], {"action": "extract-frames"})
    assert isinstance(frames, list) and [f.filename for f in frames] == [f"a-frame-00{i}.png" for i in range(1, 5)]
    assert [decoded(frame).getpoint(5, 5)[:3] for frame in frames] == list(COLOURS)
    capped = Workbench(render=RenderSettings(max_frames=2))
    assert frames_of(one(run_tool("gif-tools", [gif], {"action": "reverse"}, workbench=capped))).get("n-pages") == 2
    with pytest.raises(InvalidInput):
        run_tool("gif-tools", [gif, gif], {"action": "reverse"})


def test_pdf_to_image_pages_and_bounds(stage: Stage, run_tool: RunTool) -> None:
    document = stage(pdf_bytes(pages=3), "report.pdf")
    chosen = run_tool("pdf-to-image", [document], {"pages": "3,1", "dpi": 72})
    assert isinstance(chosen, list) and [page.filename for page in chosen] == ["report-3.png", "report-1.png"]
    third = decoded(chosen[0])
    assert (third.width, third.height) == (612, 792) and third.getpoint(300, 400)[:3] == [255, 255, 255 - 80]
    every = run_tool("pdf-to-image", [document], {"pages": "all", "dpi": 36, "format": "jpeg", "quality": 60})
    assert isinstance(every, list) and len(every) == 3 and every[1].media_type == "image/jpeg"
    assert (decoded(every[1]).width, decoded(every[1]).height) == (306, 396)
    for pages in ("4", "2-1", "0"):
        with pytest.raises(InvalidInput) as outside:
            run_tool("pdf-to-image", [document], {"pages": pages})
        assert "1 to 3" in outside.value.message
    with pytest.raises(ValidationError):
        run_tool("pdf-to-image", [document], {"pages": "first"})
    with pytest.raises(InvalidInput) as too_big:
        run_tool("pdf-to-image", [document], {"dpi": 600}, workbench=Workbench(render=RenderSettings(max_output_pixels=10**6)))
    assert "use dpi 103 or less" in too_big.value.message  # 612 x 792 points at 103 dpi: 876 x 1133 pixels
    poster = io.BytesIO()
    Image.new("RGB", (100, 100), (9, 9, 9)).save(poster, "PDF", resolution=3.6)  # a 2000-point square page
    with pytest.raises(InvalidInput) as sided:
        run_tool("pdf-to-image", [stage(poster.getvalue(), "poster.pdf")], {"dpi": 600})
    assert "use dpi 227 or less" in sided.value.message  # 40 M pixels bind before 8192 a side


def test_still_image_tools_read_an_animation_s_first_frame(gif, run_tool: RunTool) -> None:
    icons = run_tool("favicon", [gif], {})
    assert isinstance(icons, list)
    big = decoded(next(icon for icon in icons if icon.filename == "android-chrome-512x512.png"))
    assert (big.width, big.height) == (512, 512) and big.getpoint(256, 256)[:3] == COLOURS[0]
    palette = run_tool("color-palette", [gif], {"count": 1})
    assert palette.model_dump()["colors"][0]["name"] == "red"  # type: ignore[union-attr]
    traced = pyvips.Image.svgload_buffer(one(run_tool("vectorize", [gif], {})).data)
    assert (traced.width, traced.height) == (40, 30)
    kept = frames_of(one(run_tool("optimize-for-web", [gif], {})))  # a format that animates keeps the frames
    assert kept.get("n-pages") == 4 and kept.get("vips-loader").startswith("webp")


def test_svg_to_raster_transparent_background_stays_clear(stage: Stage, run_tool: RunTool) -> None:
    clear = decoded(one(run_tool("svg-to-raster", [stage(FLAG_SVG, "flag.svg")], {"background": "transparent"})))
    assert clear.hasalpha() and clear.getpoint(97, 2)[3] == 0


def test_steps_pass_animations_and_made_codes_along(gif, tmp_path: Path, bench: Workbench) -> None:
    reverse, faster, qr, resize = (get_image_tool(name) for name in ("gif-tools", "gif-tools", "qr-generate", "resize"))
    assert reverse and faster and qr and resize
    steps = [(reverse.operation, reverse.parse({"action": "reverse"})),
             (faster.operation, faster.parse({"action": "speed", "speed": 2}))]
    made = frames_of(one(run(steps, [gif], bench, tmp_path)))
    assert made.get("n-pages") == 4 and list(made.get("delay")) == [200, 150, 100, 50]
    assert made.getpoint(5, 5)[:3] == COLOURS[3]
    small = one(run([(qr.operation, qr.parse({"data": "step"})), (resize.operation, resize.parse({"width": 100}))],
                    [], bench, tmp_path))
    assert decoded(small).width == 100 and small.media_type == "image/png"
    with pytest.raises(InvalidInput):
        run([(resize.operation, resize.parse({"width": 100})), (qr.operation, qr.parse({"data": "x"}))], [gif], bench,
            tmp_path)


def test_vectorize_traces_a_bounded_copy(stage: Stage, run_tool: RunTool) -> None:
    wide = stage(solid(1500, 300, [255, 255, 255]).insert(solid(500, 100, [0, 0, 0]), 500, 100).write_to_buffer(".png"),
                 "wide.png")
    drawn = pyvips.Image.svgload_buffer(one(run_tool("vectorize", [wide], {"colorMode": "bw"})).data)
    assert (drawn.width, drawn.height) == (1024, 205)
