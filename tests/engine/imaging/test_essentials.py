"""resize, crop, rotate, convert and compress: outputs decoded and measured."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.errors import InvalidInput, UnsupportedMediaType
from engine.imaging import ImageFile
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.factories import image_bytes, jpeg_with_exif


def one(result: object) -> ImageFile:
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def test_resize_by_size_percentage_and_preset(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(image_bytes(400, 300), "photo.jpg")
    inside = one(run_tool("resize", [photo], {"width": 200, "height": 200, "fit": "inside"}))
    assert (decoded(inside).width, decoded(inside).height) == (200, 150)
    assert inside.media_type == "image/jpeg" and inside.filename == "photo.jpg"
    half = decoded(one(run_tool("resize", [photo], {"percentage": 50})))
    assert (half.width, half.height) == (200, 150)
    square = decoded(one(run_tool("resize", [photo], {"preset": "instagram-square"})))
    assert (square.width, square.height) == (1080, 1080)
    kept = decoded(one(run_tool("resize", [photo], {"width": 1000, "withoutEnlargement": True})))
    assert (kept.width, kept.height) == (400, 300)
    with pytest.raises(ValidationError):
        run_tool("resize", [photo], {"width": 10, "percentage": 50})
    with pytest.raises(ValidationError):
        run_tool("resize", [photo], {"fit": "squash", "width": 10})


def test_crop_takes_the_region_and_shapes(stage: Stage, run_tool: RunTool) -> None:
    png = stage(image_bytes(300, 200, "png"), "grad.png")
    region = decoded(one(run_tool("crop", [png], {"left": 100, "top": 50, "width": 80, "height": 40})))
    assert (region.width, region.height) == (80, 40)
    # image_bytes' red channel is x * 255 / (width - 1): the crop's first column is x = 100
    assert abs(region.getpoint(0, 0)[0] - 100 * 255 / 299) <= 1
    wide = decoded(one(run_tool("crop", [png], {"aspectRatio": "1:1"})))
    assert (wide.width, wide.height) == (200, 200)
    circle = one(run_tool("crop", [stage(image_bytes(100, 100), "face.jpg")], {"shape": "circle"}))
    disc = decoded(circle)
    assert circle.media_type == "image/png" and disc.hasalpha()
    assert disc.getpoint(0, 0)[3] == 0 and disc.getpoint(50, 50)[3] == 255
    with pytest.raises(InvalidInput) as outside:
        run_tool("crop", [png], {"left": 250, "width": 100})
    assert "300x200" in outside.value.message


def test_rotate_right_and_free_angles_and_exif(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(image_bytes(300, 100), "wide.jpg")
    turned = decoded(one(run_tool("rotate", [photo], {"angle": 90})))
    assert (turned.width, turned.height) == (100, 300)
    tilted = decoded(one(run_tool("rotate", [photo], {"angle": 45, "background": "#ff0000"})))
    assert abs(tilted.width - 283) <= 2 and tilted.getpoint(0, 0)[0] > 200 and tilted.getpoint(0, 0)[1] < 60
    mirrored = decoded(one(run_tool("rotate", [stage(image_bytes(300, 100, "png"), "m.png")], {"flip": "horizontal"})))
    assert mirrored.getpoint(0, 0)[0] == 255  # red grows with x: the right edge is now on the left
    upright = stage(jpeg_with_exif(orientation=6), "camera.jpg")  # stored sideways, shown upright
    plain = decoded(one(run_tool("rotate", [upright], {"angle": 0})))
    assert plain.height > plain.width


def test_convert_and_compress_write_the_asked_format(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(image_bytes(640, 480), "photo.jpg")
    for fmt, media in (("webp", "image/webp"), ("png", "image/png"), ("avif", "image/avif"), ("tiff", "image/tiff")):
        made = one(run_tool("convert", [photo], {"format": fmt}))
        assert made.media_type == media and made.filename.startswith("photo.")
        assert decoded(made).width == 640
    with pytest.raises(ValidationError):
        run_tool("convert", [photo], {"format": "bmp"})
    small = one(run_tool("compress", [photo], {"quality": 20}))
    large = one(run_tool("compress", [photo], {"quality": 95}))
    assert len(small.data) < len(large.data)
    palette = one(run_tool("compress", [stage(image_bytes(200, 200, "png"), "p.png")], {"quality": 50}))
    assert palette.media_type == "image/png" and decoded(palette).get("palette-bit-depth") <= 8


def test_compress_to_a_target_size(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(image_bytes(1200, 900, Q=98), "big.jpg")
    for target in (40, 80):
        made = one(run_tool("compress", [photo], {"targetSizeKB": target}))
        assert target * 1024 * 0.80 <= len(made.data) <= target * 1024


def test_inputs_are_sniffed_and_counted(stage: Stage, run_tool: RunTool) -> None:
    with pytest.raises(UnsupportedMediaType):
        stage(b"\x00\x01 not an image at all \xff" * 10, "fake.jpg")
    photo = stage(image_bytes(50, 50), "a.jpg")
    with pytest.raises(InvalidInput) as counted:
        run_tool("resize", [photo, photo], {"width": 10})
    assert counted.value.code == "tool_input_count"
    document = stage(b"%PDF-1.4\n%%EOF\n", "doc.pdf")
    with pytest.raises(InvalidInput) as kind:
        run_tool("resize", [document], {"width": 10})
    assert kind.value.code == "tool_input_unsupported" and "jpeg" in kind.value.message
