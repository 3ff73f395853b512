"""Watermarks and overlays: their presence and place read from the pixels of the decoded output."""

from __future__ import annotations

import pytest
import pyvips
from pydantic import ValidationError

from engine.errors import InvalidInput
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.engine.imaging.test_adjustments import solid
from tests.engine.imaging.test_essentials import one


def changed(before: pyvips.Image, after: pyvips.Image, box: tuple[int, int, int, int]) -> float:
    """Mean absolute difference inside a box (left, top, width, height)."""
    a, b = before.crop(*box).cast("float"), after.crop(*box).cast("float")
    return (a[:3] - b[:3]).abs().avg()


def test_watermark_text_sits_where_asked_in_its_colour(stage: Stage, run_tool: RunTool) -> None:
    white = solid(400, 300, (255, 255, 255))
    plain = pyvips.Image.new_from_buffer(white, "")
    file = stage(white, "page.png")
    out = decoded(one(run_tool("watermark-text", [file], {"text": "PICSHA", "fontSize": 40, "color": "#ff0000",
                                                          "opacity": 100, "position": "southeast"})))
    assert changed(plain, out, (200, 200, 200, 100)) > 5  # the bottom-right quarter holds the text
    assert changed(plain, out, (0, 0, 200, 150)) == 0  # the top-left is untouched
    reds = (out[0] > 200) & (out[1] < 60) & (out[2] < 60)
    assert reds.crop(200, 200, 200, 100).avg() > 0  # red text pixels are there
    faint = decoded(one(run_tool("watermark-text", [file], {"text": "PICSHA", "fontSize": 40, "color": "#ff0000",
                                                            "opacity": 30})))
    assert faint.crop(200, 200, 200, 100)[1].min() > out.crop(200, 200, 200, 100)[1].min()  # weaker red


def test_watermark_text_tiles_and_rotates_over_the_whole_picture(stage: Stage, run_tool: RunTool) -> None:
    white = solid(400, 300, (255, 255, 255))
    plain = pyvips.Image.new_from_buffer(white, "")
    tiled = decoded(one(run_tool("watermark-text", [stage(white, "p.png")],
                                 {"text": "DRAFT", "fontSize": 24, "color": "black", "opacity": 80, "tile": True,
                                  "rotation": -30})))
    assert (tiled.width, tiled.height) == (400, 300)
    for quarter in ((0, 0, 200, 150), (200, 0, 200, 150), (0, 150, 200, 150), (200, 150, 200, 150)):
        assert changed(plain, tiled, quarter) > 2, quarter
    with pytest.raises(ValidationError):
        run_tool("watermark-text", [stage(white, "q.png")], {"text": "x", "font": "comic-sans"})
    with pytest.raises(InvalidInput) as huge:  # refused before any pixel of it is drawn
        run_tool("watermark-text", [stage(white, "r.png")], {"text": "W" * 200, "fontSize": 1000})
    assert huge.value.details["field"] == "fontSize"


def test_watermark_image_is_the_second_file_scaled_into_its_corner(stage: Stage, run_tool: RunTool) -> None:
    base = stage(solid(400, 200, (255, 255, 255), ".jpg"), "photo.jpg")
    logo = stage(solid(50, 50, (0, 0, 255)), "logo.png")
    out = one(run_tool("watermark-image", [base, logo], {"position": "northwest", "opacity": 100, "scale": 0.25}))
    image = decoded(out)
    assert out.media_type == "image/jpeg" and (image.width, image.height) == (400, 200)
    inside = image.getpoint(50, 50)  # the logo is 100 px wide (a quarter), 8 px from the corner (2% margin)
    assert inside[2] > 200 and inside[0] < 60
    assert image.getpoint(300, 150)[0] > 240 and image.getpoint(120, 50)[0] > 240
    with pytest.raises(InvalidInput):
        run_tool("watermark-image", [base], {})


def test_text_overlay_draws_a_box_at_x_y(stage: Stage, run_tool: RunTool) -> None:
    file = stage(solid(300, 200, (255, 255, 255)), "card.png")
    out = decoded(one(run_tool("text-overlay", [file], {"text": "Hi", "x": 100, "y": 50, "fontSize": 20,
                                                        "color": "#ffffff", "background": "#0000ff",
                                                        "padding": 10, "borderRadius": 0})))
    assert out.getpoint(102, 52)[:3] == [0, 0, 255]  # inside the padding: the box colour
    assert out.getpoint(98, 52)[:3] == [255, 255, 255] and out.getpoint(102, 48)[:3] == [255, 255, 255]
    rounded = decoded(one(run_tool("text-overlay", [file], {"text": "Hi", "x": 100, "y": 50, "fontSize": 20,
                                                            "background": "#0000ff", "borderRadius": 15})))
    assert rounded.getpoint(100, 50)[0] > 200 and rounded.getpoint(115, 60)[:3] == [0, 0, 255]  # the corner is cut


def test_compose_layers_with_opacity_and_blend(stage: Stage, run_tool: RunTool) -> None:
    base = stage(solid(200, 100, (200, 200, 200)), "base.png")
    layer = stage(solid(50, 50, (100, 0, 0)), "layer.png")
    normal = decoded(one(run_tool("compose", [base, layer], {"x": 20, "y": 10})))
    assert normal.getpoint(30, 20)[:3] == [100, 0, 0] and normal.getpoint(100, 20)[:3] == [200, 200, 200]
    half = decoded(one(run_tool("compose", [base, layer], {"x": 20, "y": 10, "opacity": 50})))
    assert abs(half.getpoint(30, 20)[0] - 150) <= 2
    multiplied = decoded(one(run_tool("compose", [base, layer], {"x": 20, "y": 10, "blend": "multiply"})))
    assert abs(multiplied.getpoint(30, 20)[0] - 200 * 100 / 255) <= 2 and multiplied.getpoint(30, 20)[1] == 0
    off = decoded(one(run_tool("compose", [base, layer], {"x": -30, "y": 80})))
    assert (off.width, off.height) == (200, 100) and off.getpoint(5, 90)[:3] == [100, 0, 0]
    with pytest.raises(ValidationError):
        run_tool("compose", [base, layer], {"blend": "dissolve"})


def test_an_animation_gets_the_watermark_on_every_frame(stage: Stage, run_tool: RunTool) -> None:
    frames = [(pyvips.Image.black(120, 80) + [level] * 3).cast("uchar").copy(interpretation="srgb") for level in (255, 200)]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 80)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100, 100])
    gif = stage(strip.gifsave_buffer(), "anim.gif")
    for tool, settings in (("watermark-text", {"text": "HI", "fontSize": 30, "color": "#000000", "opacity": 100,
                                               "position": "center"}),
                           ("text-overlay", {"text": "HI", "x": 10, "y": 10, "background": "#000000"})):
        made = one(run_tool(tool, [gif], settings))
        out = pyvips.Image.new_from_buffer(made.data, "", n=-1)
        assert made.media_type == "image/gif" and out.get("n-pages") == 2 and out.get("page-height") == 80, tool
        for index, level in enumerate((255, 200)):
            frame = out.crop(0, 80 * index, 120, 80)
            assert frame.getpoint(119, 79)[0] >= level - 8  # a corner keeps the frame's own grey
            assert frame.min() < 60, (tool, index)  # the dark text (or box) is on this frame too
