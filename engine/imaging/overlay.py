"""Watermark & Overlay: watermark-text, watermark-image, text-overlay, compose.

Watermarks are the render's watermark step: an image watermark is its overlay (shrunk on load, every
frame of an animation); a text watermark is drawn with the step's text and placement (position, opacity,
margin) plus font, colour, rotation and tiling, and laid on every frame here like the other overlays.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import pyvips
from pydantic import Field

from engine.errors import InvalidInput
from engine.imaging.adjustments import frame_height
from engine.imaging.chain import render_on
from engine.imaging.essentials import Settings, colour
from engine.imaging.items import Gives, Item, Picture, Takes, ToolFile
from engine.imaging.operation import Operation, Wants, Workbench
from engine.render.colour import rgba
from engine.render.context import Overlay
from engine.render.params import Position, RenderParams
from engine.render.steps.watermark import placed, text_mark

TILE_GAP = 1.0  # space between tiled marks, as a fraction of the mark's own size


class Font(StrEnum):
    SANS = "sans"
    SANS_BOLD = "sans-bold"
    SERIF = "serif"
    SERIF_BOLD = "serif-bold"
    MONOSPACE = "monospace"


def _font(font: Font) -> str:
    return font.value.replace("-", " ")  # fontconfig names: "sans bold"


def _rgb_uchar(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.bands == 1:
        image = image.bandjoin([image, image])
    elif image.bands == 2:  # grey + alpha
        image = image[0].bandjoin([image[0], image[0], image[1]])
    return image.copy(interpretation="srgb")


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    image = _rgb_uchar(image)
    return image if image.bands == 4 else image.bandjoin_const([255])


def drawn_text(text: str, size: int, font: Font, fill: list[int] | None, bench: Workbench) -> pyvips.Image:
    """The text as RGBA, refused before drawing when it would be larger than an output may be."""
    longest = max(len(line) for line in text.splitlines() or [text])
    if longest * 0.7 * size * size * 1.3 * max(1, len(text.splitlines())) > bench.render.max_output_pixels:
        raise InvalidInput(f"Text of {longest} characters at {size} px is larger than an output may be; use a "
                           "smaller fontSize or shorter text.", code="tool_settings_invalid", field="fontSize")
    return text_mark(text, size, font=_font(font), fill=fill)


def lay_over(base: pyvips.Image, layer: pyvips.Image, x: int, y: int, blend: str = "over") -> pyvips.Image:
    """``layer`` (RGBA) composited at x, y on every frame of ``base``; base keeps its size and alpha or not.
    Only the pixels under the layer are blended (the rest of the picture is copied as it is)."""
    had_alpha = base.hasalpha()
    base = _rgb_uchar(base)
    width, page = base.width, frame_height(base)
    left, top = max(0, x), max(0, y)
    right, bottom = min(width, x + layer.width), min(page, y + layer.height)
    if right <= left or bottom <= top:  # entirely outside the picture
        return base if had_alpha else base.extract_band(0, n=3)
    part = layer.crop(left - x, top - y, right - left, bottom - top)
    for frame in range(base.height // page):
        under = base.crop(left, top + frame * page, right - left, bottom - top)
        mixed = under.composite2(part, blend).cast("uchar")
        base = base.insert(mixed if under.bands == 4 else mixed.extract_band(0, n=3), left, top + frame * page)
    return base if had_alpha else base.extract_band(0, n=3)


# -- watermark-text ------------------------------------------------------------------------------


class WatermarkTextSettings(Settings):
    text: str = Field(min_length=1, max_length=200, description="The watermark text.")
    font: Font = Field(default=Font.SANS_BOLD, description="Font family.")
    fontSize: int | None = Field(default=None, ge=6, le=1000, description="Text height, pixels (default 5% of the shorter side).")
    color: str | None = Field(default=None, max_length=32, description="Text colour (default: white with a dark outline).")
    opacity: int = Field(default=50, ge=0, le=100, description="Percent.")
    position: Position = Field(default=Position.SOUTHEAST, description="Compass point (ignored when tiled).")
    rotation: float = Field(default=0, ge=-180, le=180, description="Degrees clockwise.")
    tile: bool = Field(default=False, description="Repeat the text over the whole picture.")


def _tiled(mark: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """The mark repeated across a frame, with a gap, as one frame-sized mark."""
    gap_x, gap_y = round(mark.width * TILE_GAP), round(mark.height * TILE_GAP)
    cell = mark.embed(0, 0, mark.width + gap_x, mark.height + gap_y, extend="background", background=[0, 0, 0, 0])
    across, down = -(-width // cell.width) + 1, -(-height // cell.height) + 1
    return cell.replicate(across, down).crop(cell.width // 2, cell.height // 2, width, height)


def watermark_text(items: Sequence[Item], settings: WatermarkTextSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    width, height = picture.image.width, frame_height(picture.image)
    size = settings.fontSize or max(8, round(min(width, height) * 0.05))
    fill = rgba(colour(settings.color, "color")) if settings.color else None
    mark = drawn_text(settings.text, size, settings.font, fill, bench)
    if settings.rotation:
        mark = mark.similarity(angle=settings.rotation, background=[0, 0, 0, 0]).cast("uchar")
    if settings.tile:
        mark = _tiled(mark, width, height)
    position = Position.CENTER if settings.tile else settings.position
    mark, x, y = placed(mark, (width, height), position, settings.opacity)  # as the render's watermark step
    return picture.with_image(lay_over(picture.image, mark, x, y))


WATERMARK_TEXT = Operation(settings=WatermarkTextSettings, takes=Takes.ONE, gives=Gives.FILE, apply=watermark_text)


# -- watermark-image -----------------------------------------------------------------------------


class WatermarkImageSettings(Settings):
    opacity: int = Field(default=50, ge=0, le=100, description="Percent.")
    position: Position = Field(default=Position.SOUTHEAST, description="Compass point.")
    scale: float = Field(default=0.25, ge=0.01, le=1, description="Watermark width as a fraction of the image width.")


def watermark_image(items: Sequence[Item], settings: WatermarkImageSettings, bench: Workbench) -> Picture:
    base, logo = items
    if not isinstance(logo, ToolFile):  # a two-file tool only runs as a first step: its inputs are files
        raise InvalidInput("watermark-image takes the watermark as the second uploaded file.", code="tool_input_count")
    params = RenderParams(watermark_position=settings.position, watermark_opacity=settings.opacity,
                          watermark_scale=settings.scale)
    return render_on(base, params, bench, overlay=Overlay(path=logo.path, format=logo.format))


WATERMARK_IMAGE = Operation(settings=WatermarkImageSettings, takes=Takes.TWO, gives=Gives.FILE, apply=watermark_image,
                            wants=Wants.ANY)


# -- text-overlay --------------------------------------------------------------------------------


class TextOverlaySettings(Settings):
    text: str = Field(min_length=1, max_length=500, description="The text.")
    font: Font = Field(default=Font.SANS, description="Font family.")
    fontSize: int = Field(default=32, ge=6, le=1000, description="Text height, pixels.")
    color: str = Field(default="#ffffff", max_length=32, description="Text colour.")
    x: int = Field(default=0, ge=0, le=100_000, description="Left of the box, pixels.")
    y: int = Field(default=0, ge=0, le=100_000, description="Top of the box, pixels.")
    background: str = Field(default="#00000099", max_length=32, description="Box colour; #00000000 for none.")
    padding: int = Field(default=12, ge=0, le=1000, description="Space around the text inside the box, pixels.")
    borderRadius: int = Field(default=8, ge=0, le=1000, description="Box corner radius, pixels.")


def rounded_box(width: int, height: int, radius: int, fill: list[int]) -> pyvips.Image:
    """A filled RGBA rectangle with rounded corners (antialiased through the SVG loader)."""
    corner = min(radius, width // 2, height // 2)
    red, green, blue, alpha = fill
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"><rect width="{width}" '
           f'height="{height}" rx="{corner}" fill="rgb({red},{green},{blue})" fill-opacity="{alpha / 255:.4f}"/></svg>')
    return pyvips.Image.svgload_buffer(svg.encode()).cast("uchar")


def text_overlay(items: Sequence[Item], settings: TextOverlaySettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    text = drawn_text(settings.text, settings.fontSize, settings.font, rgba(colour(settings.color, "color")), bench)
    pad = settings.padding
    box = rounded_box(text.width + 2 * pad, text.height + 2 * pad, settings.borderRadius,
                      rgba(colour(settings.background, "background")))
    label = box.composite2(text, "over", x=pad, y=pad).cast("uchar")
    return picture.with_image(lay_over(picture.image, label, settings.x, settings.y))


TEXT_OVERLAY = Operation(settings=TextOverlaySettings, takes=Takes.ONE, gives=Gives.FILE, apply=text_overlay)


# -- compose -------------------------------------------------------------------------------------


class Blend(StrEnum):
    NORMAL = "normal"
    MULTIPLY = "multiply"
    SCREEN = "screen"
    OVERLAY = "overlay"
    DARKEN = "darken"
    LIGHTEN = "lighten"
    COLOR_DODGE = "color-dodge"
    COLOR_BURN = "color-burn"
    HARD_LIGHT = "hard-light"
    SOFT_LIGHT = "soft-light"
    DIFFERENCE = "difference"
    EXCLUSION = "exclusion"


_VIPS_BLEND = {Blend.NORMAL: "over", Blend.COLOR_DODGE: "colour-dodge", Blend.COLOR_BURN: "colour-burn"}


class ComposeSettings(Settings):
    x: int = Field(default=0, ge=-100_000, le=100_000, description="Left of the second image, pixels (may be negative).")
    y: int = Field(default=0, ge=-100_000, le=100_000, description="Top of the second image, pixels.")
    opacity: int = Field(default=100, ge=0, le=100, description="Percent.")
    blend: Blend = Field(default=Blend.NORMAL, description="How the layer mixes with the image below.")


def compose(items: Sequence[Item], settings: ComposeSettings, bench: Workbench) -> Picture:
    base, top = items
    assert isinstance(base, Picture) and isinstance(top, Picture)
    layer = with_alpha(top.image.crop(0, 0, top.image.width, frame_height(top.image)))
    if settings.opacity < 100:
        layer = layer[:3].bandjoin((layer[3] * (settings.opacity / 100)).cast("uchar"))
    blend = _VIPS_BLEND.get(settings.blend, settings.blend.value)
    return base.with_image(lay_over(base.image, layer, settings.x, settings.y, blend))


COMPOSE = Operation(settings=ComposeSettings, takes=Takes.TWO, gives=Gives.FILE, apply=compose)
