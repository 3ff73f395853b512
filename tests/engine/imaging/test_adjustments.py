"""color-adjustments, sharpening and replace-color: pixels sampled from the decoded output."""

from __future__ import annotations

import pytest
import pyvips
from pydantic import ValidationError

from engine.errors import InvalidInput
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.engine.imaging.test_essentials import one
from tests.factories import image_bytes


def solid(width: int, height: int, rgb: tuple[int, int, int], fmt: str = ".png") -> bytes:
    return (pyvips.Image.black(width, height) + list(rgb)).cast("uchar").copy(interpretation="srgb").write_to_buffer(fmt)


def pixel(run_tool: RunTool, file: object, settings: dict, x: int = 10, y: int = 10) -> list[float]:
    return decoded(one(run_tool("color-adjustments", [file], settings))).getpoint(x, y)


def test_color_adjustments_move_the_levels_the_right_way(stage: Stage, run_tool: RunTool) -> None:
    grey = stage(solid(40, 30, (100, 100, 100)), "grey.png")
    assert pixel(run_tool, grey, {"brightness": 50})[:3] == [164, 164, 164]
    assert pixel(run_tool, grey, {"contrast": 50})[0] == 72  # 28 below mid-grey becomes 56 below
    assert pixel(run_tool, grey, {"exposure": 1})[0] > 125
    warm = pixel(run_tool, grey, {"temperature": 50})
    assert warm[0] == 120 and warm[2] == 80
    assert pixel(run_tool, grey, {"effects": ["invert"]})[:3] == [155, 155, 155]
    red = stage(solid(40, 30, (200, 40, 40)), "red.png")
    flat = pixel(run_tool, red, {"saturation": -100})
    assert max(flat[:3]) - min(flat[:3]) <= 2
    assert max(pixel(run_tool, red, {"effects": ["grayscale"]})[:3]) - min(pixel(run_tool, red, {"effects": ["grayscale"]})[:3]) == 0
    vivid = pixel(run_tool, red, {"saturation": 40})
    assert vivid[0] - vivid[1] > 160
    sepia = pixel(run_tool, grey, {"effects": ["sepia"]})
    assert sepia[0] > sepia[1] > sepia[2]


def test_vignette_darkens_corners_and_alpha_is_kept(stage: Stage, run_tool: RunTool) -> None:
    light = stage(solid(101, 81, (200, 200, 200)), "light.png")
    out = decoded(one(run_tool("color-adjustments", [light], {"effects": ["vignette"]})))
    assert out.getpoint(50, 40)[0] == 200 and out.getpoint(0, 0)[0] < 90
    clear = stage(image_bytes(60, 40, "png", alpha=True), "clear.png")
    kept = decoded(one(run_tool("color-adjustments", [clear], {"brightness": 10})))
    assert kept.hasalpha() and kept.getpoint(7, 3)[3] == 7
    with pytest.raises(ValidationError):
        run_tool("color-adjustments", [light], {"effects": ["posterize"]})
    with pytest.raises(ValidationError):
        run_tool("color-adjustments", [light], {"brightness": 101})


def edges(image: pyvips.Image) -> float:
    """Mean absolute difference between neighbouring pixels: grows when an image is sharpened."""
    grey = image.colourspace("b-w")[0].cast("float")
    return (grey.crop(1, 0, grey.width - 1, grey.height) - grey.crop(0, 0, grey.width - 1, grey.height)).abs().avg()


def test_every_sharpening_mode_adds_edge_contrast(stage: Stage, run_tool: RunTool) -> None:
    xy = pyvips.Image.xyz(120, 80)
    checks = ((((xy[0] / 12).floor() + (xy[1] / 12).floor()) % 2) * 180 + 40).cast("uchar")
    blurred = checks.bandjoin([checks, checks]).copy(interpretation="srgb").gaussblur(2).cast("uchar")
    soft = stage(blurred.pngsave_buffer(), "soft.png")
    before = edges(blurred)
    for mode in ("adaptive", "unsharp", "highpass"):
        after = decoded(one(run_tool("sharpening", [soft], {"mode": mode, "amount": 200, "radius": 2})))
        assert (after.width, after.height) == (120, 80)
        assert edges(after) > before * 1.05, mode
    # a threshold above every difference leaves the picture as it was
    same = decoded(one(run_tool("sharpening", [soft], {"mode": "unsharp", "amount": 200, "threshold": 255})))
    assert (same.cast("float") - blurred.cast("float")).abs().max() == 0
    with pytest.raises(ValidationError):
        run_tool("sharpening", [soft], {"mode": "smart"})


def test_replace_color_swaps_only_the_target_and_keeps_shading(stage: Stage, run_tool: RunTool) -> None:
    left = (pyvips.Image.black(20, 20) + [220, 20, 20]).cast("uchar")
    shade = (pyvips.Image.black(20, 20) + [180, 10, 10]).cast("uchar")
    right = (pyvips.Image.black(20, 20) + [20, 200, 20]).cast("uchar")
    art = left.join(shade, "horizontal").join(right, "horizontal").copy(interpretation="srgb")
    file = stage(art.pngsave_buffer(), "art.png")
    out = decoded(one(run_tool("replace-color", [file], {"targetColor": "#dc1414", "replacementColor": "#1414dc",
                                                         "tolerance": 25})))
    assert out.getpoint(5, 5)[2] > 200 and out.getpoint(5, 5)[0] < 40  # the target, now blue
    shaded = out.getpoint(25, 5)
    assert shaded[2] > shaded[0] and shaded[2] < out.getpoint(5, 5)[2]  # still darker than the bright part
    assert out.getpoint(45, 5)[:3] == [20, 200, 20]  # green untouched
    rest = decoded(one(run_tool("replace-color", [file], {"targetColor": "#dc1414", "replacementColor": "white",
                                                          "tolerance": 5, "invert": True})))
    assert rest.getpoint(5, 5)[:3] == [220, 20, 20] and rest.getpoint(45, 5)[:3] == [255, 255, 255]
    cut = one(run_tool("replace-color", [stage(art.jpegsave_buffer(Q=95), "art.jpg")],
                       {"targetColor": "#14c814", "replacementColor": "#00000000", "tolerance": 20}))
    assert cut.media_type == "image/png"
    assert decoded(cut).getpoint(45, 5)[3] == 0 and decoded(cut).getpoint(5, 5)[3] == 255
    with pytest.raises(InvalidInput) as bad:
        run_tool("replace-color", [file], {"targetColor": "reddish", "replacementColor": "#000"})
    assert "targetColor" in bad.value.message
