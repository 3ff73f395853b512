"""Each render parameter on a real image: dimensions, format bytes, alpha, orientation, pixels."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import pyvips
from PIL import Image

from engine.errors import InvalidInput, PicshaError, UnsupportedMediaType
from engine.render.context import RenderContext
from engine.render.settings import RenderSettings
from tests.engine.render.conftest import decode
from tests.factories import SVG, image_bytes, jpeg_with_exif, pdf_bytes

Render = Callable[..., RenderContext]
MAGIC = {
    "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "avif": lambda b: b[4:12] == b"ftypavif",
    "jpeg": lambda b: b[:3] == b"\xff\xd8\xff",
    "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "gif": lambda b: b[:6] in (b"GIF89a", b"GIF87a"),
}
JPEG = image_bytes(640, 480)  # red grows left to right, green top to bottom


def size(ctx: RenderContext) -> tuple[int, int]:
    image = decode(ctx.data)
    return image.width, image.height


@pytest.mark.parametrize("fmt", ["webp", "avif", "jpeg", "png", "gif"])
def test_every_output_format_has_its_magic_bytes(render_file: Render, fmt: str) -> None:
    ctx = render_file(JPEG, "jpeg", out=fmt, w=160)
    assert MAGIC[fmt](ctx.data) and ctx.content_type == f"image/{fmt}" and size(ctx) == (160, 120)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"w": 320}, (320, 240)),
        ({"h": 120}, (160, 120)),
        ({"w": 200, "h": 200}, (200, 200)),  # cover is the default
        ({"w": 200, "h": 200, "fit": "contain"}, (200, 200)),
        ({"w": 200, "h": 200, "fit": "inside"}, (200, 150)),
        ({"w": 200, "h": 200, "fit": "outside"}, (267, 200)),
        ({"w": 200, "h": 50, "fit": "fill"}, (200, 50)),
        ({"w": 100, "h": 50, "dpr": 3}, (300, 150)),
        ({"w": 300, "h": 100, "rotate": 90}, (300, 100)),
        ({"w": 64, "h": 64, "crop": "100,50,200,100"}, (64, 64)),
        ({"crop": "100,50,200,100"}, (200, 100)),
        ({}, (640, 480)),
    ],
)
def test_sizes_for_each_fit_and_dpr(render_file: Render, params: dict[str, Any], expected: tuple[int, int]) -> None:
    assert size(render_file(JPEG, "jpeg", **params)) == expected


def _pixel(ctx: RenderContext, x: int, y: int) -> list[float]:
    return decode(ctx.data)(x, y)


def test_gravity_picks_the_side_of_a_cover_crop(render_file: Render) -> None:
    west = _pixel(render_file(JPEG, "jpeg", w=100, h=480, gravity="west"), 50, 240)
    east = _pixel(render_file(JPEG, "jpeg", w=100, h=480, gravity="east"), 50, 240)
    north = _pixel(render_file(JPEG, "jpeg", w=640, h=100, gravity="north"), 320, 50)
    south = _pixel(render_file(JPEG, "jpeg", w=640, h=100, gravity="south"), 320, 50)
    assert west[0] < 30 and east[0] > 220, "red grows to the east"
    assert north[1] < 30 and south[1] > 220, "green grows to the south"


def test_focus_centres_the_crop(render_file: Render) -> None:
    left = _pixel(render_file(JPEG, "jpeg", w=100, h=480, focus="0.1,0.5"), 50, 240)
    right = _pixel(render_file(JPEG, "jpeg", w=100, h=480, focus="0.9,0.5"), 50, 240)
    assert left[0] < 40 < 200 < right[0]


@pytest.mark.parametrize("gravity", ["attention", "entropy"])
def test_smart_gravities_crop_to_the_box(render_file: Render, gravity: str) -> None:
    assert size(render_file(JPEG, "jpeg", w=90, h=90, gravity=gravity)) == (90, 90)


def test_crop_takes_the_region_in_source_pixels(render_file: Render) -> None:
    ctx = render_file(JPEG, "jpeg", crop="500,0,140,100")
    assert size(ctx) == (140, 100) and _pixel(ctx, 70, 50)[0] > 190  # the red (east) end


def test_crop_outside_the_source_is_refused(render_file: Render) -> None:
    with pytest.raises(InvalidInput) as caught:
        render_file(JPEG, "jpeg", crop="600,0,100,100")
    assert caught.value.details["param"] == "crop" and "640x480" in caught.value.message


def test_exif_orientation_is_honoured(render_file: Render) -> None:
    rotated = jpeg_with_exif(orientation=6, width=320, height=240)  # stored landscape, displayed portrait
    assert size(render_file(rotated, "jpeg")) == (240, 320)
    assert size(render_file(rotated, "jpeg", w=120)) == (120, 160)
    assert size(render_file(rotated, "jpeg", crop="0,0,200,300")) == (200, 300)


def test_rotate_and_flip_move_the_pixels(render_file: Render) -> None:
    turned = render_file(JPEG, "jpeg", rotate=90)
    assert size(turned) == (480, 640)
    assert _pixel(turned, 240, 10)[0] < 40 and _pixel(turned, 240, 630)[0] > 210, "west edge is now on top"
    flipped = render_file(JPEG, "jpeg", flip="h")
    assert _pixel(flipped, 5, 240)[0] > 210 and _pixel(flipped, 635, 240)[0] < 40
    both = render_file(JPEG, "jpeg", flip="both")
    assert _pixel(both, 320, 5)[1] > 210


def _deviation(ctx: RenderContext) -> float:
    return decode(ctx.data).extract_band(2).deviate()


def test_blur_smooths_and_sharpen_changes_pixels(render_file: Render) -> None:
    plain = render_file(JPEG, "jpeg", w=320)
    blurred = render_file(JPEG, "jpeg", w=320, blur=8)
    sharpened = render_file(JPEG, "jpeg", w=320, sharpen=2)
    assert _deviation(blurred) < _deviation(plain)  # the blue band is a sharp-edged ramp
    assert plain.data != sharpened.data


def test_alpha_is_kept_in_png_and_flattened_onto_bg_in_jpeg(render_file: Render) -> None:
    transparent = image_bytes(200, 100, "png", alpha=True)
    png = decode(render_file(transparent, "png", out="png", w=100).data)
    assert png.bands == 4 and png.hasalpha()
    jpeg = render_file(transparent, "png", out="jpeg", w=100, bg="#00ff00")
    pixel = decode(jpeg.data)(0, 0)  # alpha 0 at x=0: pure background
    assert decode(jpeg.data).bands == 3 and pixel[1] > 240 and pixel[0] < 20


def test_legacy_means_png_with_alpha_and_jpeg_without(render_file: Render) -> None:
    assert render_file(image_bytes(50, 50, "png", alpha=True), "png", out="legacy").output_format == "png"
    assert render_file(image_bytes(50, 50, "png"), "png", out="legacy").output_format == "jpeg"


def test_contain_pads_with_bg(render_file: Render) -> None:
    ctx = render_file(JPEG, "jpeg", out="png", w=200, h=200, fit="contain", bg="blue")
    assert size(ctx) == (200, 200) and _pixel(ctx, 100, 2)[:3] == [0, 0, 255]


def test_strip_removes_metadata_unless_asked_to_keep_it(render_file: Render) -> None:
    source = jpeg_with_exif(lat=52.2, lon=0.12)
    stripped = Image.open(io.BytesIO(render_file(source, "jpeg", out="jpeg", w=100).data))
    kept = Image.open(io.BytesIO(render_file(source, "jpeg", out="jpeg", w=100, strip=False).data))
    assert not stripped.getexif() and kept.getexif().get(0x010F) == "Canon"


def test_quality_changes_the_size(render_file: Render) -> None:
    low, high = render_file(JPEG, "jpeg", out="webp", q=10), render_file(JPEG, "jpeg", out="webp", q=95)
    assert len(low.data) < len(high.data)


def test_text_watermark_marks_the_chosen_corner(render_file: Render) -> None:
    grey = pyvips.Image.black(400, 300).new_from_image([128, 128, 128]).copy(interpretation="srgb").pngsave_buffer()
    ctx = render_file(grey, "png", watermark="PICSHA", watermark_position="northwest", watermark_opacity=100, watermark_size=40)
    image = decode(ctx.data)
    assert image.crop(0, 0, 200, 80).max() > 200 and image.crop(200, 150, 200, 150).max() < 140


def test_asset_watermark_is_overlaid_at_scale_and_opacity(render_file: Render) -> None:
    grey = pyvips.Image.black(400, 300).new_from_image([0, 0, 0]).copy(interpretation="srgb").pngsave_buffer()
    logo = pyvips.Image.black(50, 50).new_from_image([255, 255, 255]).copy(interpretation="srgb").pngsave_buffer()
    ctx = render_file(grey, "png", overlay=(logo, "png"), watermark_asset="as_logo", watermark_scale=0.25, watermark_opacity=50)
    image = decode(ctx.data)
    corner = image.crop(400 - 8 - 100, 300 - 8 - 100, 100, 100)  # southeast, 2% margin, 100 px wide
    assert 110 < corner.avg() < 145 and image.crop(0, 0, 100, 100).max() == 0


def test_pdf_pages_render(render_file: Render) -> None:
    pdf = pdf_bytes(3)  # page i is (255, 255, 255 - 40 i)
    first = decode(render_file(pdf, "pdf", w=306).data)
    third = decode(render_file(pdf, "pdf", w=306, page=3).data)
    assert (first.width, first.height) == (306, 396) and first(150, 200)[2] > 250 and 160 < third(150, 200)[2] < 190
    with pytest.raises(InvalidInput) as caught:
        render_file(pdf, "pdf", page=4)
    assert caught.value.code == "render_page_out_of_range" and "1 to 3" in caught.value.message


def test_svg_renders_at_the_asked_size_without_external_references(render_file: Render, tmp_path: Any) -> None:
    assert size(render_file(SVG, "svg", w=480)) == (480, 320)
    secret = image_bytes(20, 20, "png")
    (tmp_path / "secret.png").write_bytes(secret)
    sneaky = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20">'
        b'<image xlink:href="secret.png" width="20" height="20"/></svg>'
    )
    pixels = decode(render_file(sneaky, "svg").data)
    assert pixels.extract_band(3).max() == 0, "the neighbouring file was not drawn"


def _animation(frames: int = 5) -> bytes:
    pages = [pyvips.Image.black(50, 40).new_from_image([i * 40, 0, 0]) for i in range(frames)]
    image = pyvips.Image.arrayjoin(pages, across=1).copy(interpretation="srgb")
    image.set_type(pyvips.GValue.gint_type, "page-height", 40)
    image.set_type(pyvips.GValue.array_int_type, "delay", [80] * frames)
    return image.gifsave_buffer()


@pytest.mark.parametrize("out", ["gif", "webp"])
def test_animations_keep_their_frames_up_to_the_cap(render_file: Render, out: str) -> None:
    ctx = render_file(_animation(5), "gif", out=out, w=25, h=25, rotate=90)
    image = decode(ctx.data)
    assert image.get("n-pages") == 5 and image.get("page-height") == 25 and image.width == 25
    capped = decode(render_file(_animation(5), "gif", out=out, settings=RenderSettings(max_frames=3)).data)
    assert capped.get("n-pages") == 3


def test_an_animation_to_a_still_format_keeps_the_first_frame(render_file: Render) -> None:
    image = decode(render_file(_animation(4), "gif", out="png", w=50).data)
    assert (image.width, image.height) == (50, 40)


def test_decompression_bombs_are_refused_before_decoding(render_file: Render) -> None:
    # 30000 x 30000 of one colour: a few kilobytes of PNG that would decode to 2.7 GB
    bomb = pyvips.Image.black(30000, 30000).cast("uchar").pngsave_buffer(compression=9)
    assert len(bomb) < 5_000_000
    with pytest.raises(PicshaError) as caught:
        render_file(bomb, "png", w=100)
    assert caught.value.code == "render_input_too_large" and caught.value.status == 422
    with pytest.raises(PicshaError):
        render_file(JPEG, "jpeg", w=10, settings=RenderSettings(max_input_pixels=640 * 480 - 1))


def test_outputs_over_the_pixel_limit_are_refused(render_file: Render) -> None:
    with pytest.raises(InvalidInput) as caught:
        render_file(JPEG, "jpeg", w=8000, h=8000, dpr=4)
    assert caught.value.code == "render_output_too_large"


def test_only_allow_listed_formats_that_really_are_that_format_decode(render_file: Render) -> None:
    with pytest.raises(UnsupportedMediaType):
        render_file(b"plain text", "txt")
    with pytest.raises(UnsupportedMediaType):
        render_file(image_bytes(20, 20, "png"), "jpeg")  # PNG bytes labelled JPEG


def test_damaged_files_get_a_decode_error_not_a_crash(render_file: Render) -> None:
    with pytest.raises(PicshaError) as caught:
        render_file(b"%PDF-1.4 broken", "pdf", w=10)
    assert caught.value.code == "render_decode_failed" and caught.value.status == 422
