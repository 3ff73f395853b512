"""Essentials: resize, crop, rotate, convert, compress. Geometry runs through the render steps."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import pyvips
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.errors import InvalidInput
from engine.imaging.chain import materialized, render_on, size_of_header, streamed
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Wants, Workbench
from engine.render.colour import rgba
from engine.render.params import Fit, RenderParams

MAX_SIDE = 8192


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


def size_of(item: Item, bench: Workbench) -> tuple[int, int]:
    """Width and height as the tool sees the image (after EXIF orientation), from the header of a file."""
    if isinstance(item, Picture):
        return item.image.width, item.image.height
    return size_of_header(item, bench)


def colour(value: str, field: str) -> str:
    """A colour as the render parameters take it (``#rgb``, ``#rrggbb``, ``#rrggbbaa`` or a name)."""
    try:
        normalised = RenderParams(bg=value).bg
    except ValueError as error:
        raise InvalidInput(f"{field}: {value!r} is not a colour; use #rrggbb, #rrggbbaa or a CSS name.",
                           code="tool_settings_invalid", field=field) from error
    assert normalised is not None
    return normalised


# -- resize --------------------------------------------------------------------------------------


class Preset(StrEnum):
    INSTAGRAM_SQUARE = "instagram-square"
    INSTAGRAM_PORTRAIT = "instagram-portrait"
    INSTAGRAM_LANDSCAPE = "instagram-landscape"
    INSTAGRAM_STORY = "instagram-story"
    FACEBOOK_POST = "facebook-post"
    FACEBOOK_COVER = "facebook-cover"
    FACEBOOK_STORY = "facebook-story"
    TWITTER_POST = "twitter-post"
    TWITTER_HEADER = "twitter-header"
    LINKEDIN_POST = "linkedin-post"
    LINKEDIN_BANNER = "linkedin-banner"
    LINKEDIN_PROFILE = "linkedin-profile"
    YOUTUBE_THUMBNAIL = "youtube-thumbnail"
    YOUTUBE_BANNER = "youtube-banner"
    PINTEREST_PIN = "pinterest-pin"
    TIKTOK_VIDEO = "tiktok-video"
    THREADS_POST = "threads-post"
    SNAPCHAT_STORY = "snapchat-story"
    WHATSAPP_STATUS = "whatsapp-status"
    DISCORD_BANNER = "discord-banner"
    TWITCH_BANNER = "twitch-banner"
    OG_IMAGE = "og-image"
    EMAIL_HEADER = "email-header"


PRESET_SIZES: dict[Preset, tuple[int, int]] = {
    Preset.INSTAGRAM_SQUARE: (1080, 1080), Preset.INSTAGRAM_PORTRAIT: (1080, 1350),
    Preset.INSTAGRAM_LANDSCAPE: (1080, 566), Preset.INSTAGRAM_STORY: (1080, 1920),
    Preset.FACEBOOK_POST: (1200, 630), Preset.FACEBOOK_COVER: (851, 315), Preset.FACEBOOK_STORY: (1080, 1920),
    Preset.TWITTER_POST: (1600, 900), Preset.TWITTER_HEADER: (1500, 500), Preset.LINKEDIN_POST: (1200, 627),
    Preset.LINKEDIN_BANNER: (1584, 396), Preset.LINKEDIN_PROFILE: (400, 400),
    Preset.YOUTUBE_THUMBNAIL: (1280, 720), Preset.YOUTUBE_BANNER: (2560, 1440), Preset.PINTEREST_PIN: (1000, 1500),
    Preset.TIKTOK_VIDEO: (1080, 1920), Preset.THREADS_POST: (1080, 1350), Preset.SNAPCHAT_STORY: (1080, 1920),
    Preset.WHATSAPP_STATUS: (1080, 1920), Preset.DISCORD_BANNER: (960, 540), Preset.TWITCH_BANNER: (1200, 480),
    Preset.OG_IMAGE: (1200, 630), Preset.EMAIL_HEADER: (600, 200),
}


class ResizeSettings(Settings):
    width: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Width in pixels.")
    height: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Height in pixels.")
    fit: Fit = Field(default=Fit.COVER, description="How the image fills width x height when both are given.")
    percentage: float | None = Field(default=None, gt=0, le=1000, description="Scale both sides by this percent.")
    preset: Preset | None = Field(default=None, description="A social-media size (cover fit), e.g. instagram-square.")
    withoutEnlargement: bool = Field(default=False, description="Never make the image larger than it is.")

    @model_validator(mode="after")
    def _one_size(self) -> ResizeSettings:
        given = [name for name, on in (("width/height", self.width or self.height),
                                       ("percentage", self.percentage), ("preset", self.preset)) if on]
        if len(given) != 1:
            raise ValueError("give exactly one of width/height, percentage or preset")
        return self


def resize(items: Sequence[Item], settings: ResizeSettings, bench: Workbench) -> Picture:
    item = items[0]
    src_w, src_h = size_of(item, bench)
    width, height, fit = settings.width, settings.height, settings.fit
    if settings.preset is not None:
        width, height = PRESET_SIZES[settings.preset]
    elif settings.percentage is not None:
        width = max(1, round(src_w * settings.percentage / 100))
        height = max(1, round(src_h * settings.percentage / 100))
        fit = Fit.FILL
    if settings.withoutEnlargement and ((width or 0) > src_w or (height or 0) > src_h):
        width, height = None, None  # already smaller than asked: kept as it is
    return render_on(item, RenderParams(w=width, h=height, fit=fit), bench)


RESIZE = Operation(settings=ResizeSettings, takes=Takes.ONE, gives=Gives.FILE, apply=resize, wants=Wants.ANY)


# -- crop ----------------------------------------------------------------------------------------


class CropShape(StrEnum):
    RECTANGLE = "rectangle"
    CIRCLE = "circle"
    ROUNDED = "rounded"


class CropSettings(Settings):
    left: int = Field(default=0, ge=0, le=100_000, description="Left edge, pixels.")
    top: int = Field(default=0, ge=0, le=100_000, description="Top edge, pixels.")
    width: int | None = Field(default=None, ge=1, le=100_000, description="Width, pixels (default: to the right edge).")
    height: int | None = Field(default=None, ge=1, le=100_000, description="Height, pixels (default: to the bottom).")
    aspectRatio: str | None = Field(default=None, pattern=r"^\d{1,4}:\d{1,4}$",
                                    description="e.g. 16:9: the largest centred region of that shape (without width/height).")
    shape: CropShape = Field(default=CropShape.RECTANGLE, description="circle and rounded give a transparent outside.")
    radius: int = Field(default=32, ge=1, le=10_000, description="Corner radius for rounded, pixels.")


def _region(settings: CropSettings, src_w: int, src_h: int) -> tuple[int, int, int, int]:
    if settings.aspectRatio and settings.width is None and settings.height is None:
        a, b = (int(part) for part in settings.aspectRatio.split(":"))
        if a == 0 or b == 0:
            raise InvalidInput("aspectRatio needs two positive numbers, e.g. 16:9.", code="tool_settings_invalid")
        w = min(src_w, round(src_h * a / b))
        h = min(src_h, round(w * b / a))
        return (src_w - w) // 2, (src_h - h) // 2, w, h
    left, top = settings.left, settings.top
    w = settings.width if settings.width is not None else src_w - left
    h = settings.height if settings.height is not None else src_h - top
    if left + w > src_w or top + h > src_h or w < 1 or h < 1:
        raise InvalidInput(
            f"The crop {left},{top} {w}x{h} falls outside the {src_w}x{src_h} image.", code="tool_settings_invalid",
            valid=f"left+width <= {src_w} and top+height <= {src_h}",
        )
    return left, top, w, h


def shape_mask(image: pyvips.Image, shape: CropShape, radius: int) -> pyvips.Image:
    """The image (sRGB) with everything outside the circle or rounded rectangle made transparent."""
    w, h = image.width, image.height
    figure = (f'<ellipse cx="{w / 2}" cy="{h / 2}" rx="{w / 2}" ry="{h / 2}" fill="#fff"/>' if shape is CropShape.CIRCLE
              else f'<rect width="{w}" height="{h}" rx="{min(radius, w // 2, h // 2)}" fill="#fff"/>')
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">{figure}</svg>'
    alpha = pyvips.Image.svgload_buffer(svg.encode())[3]
    base = image.colourspace("srgb") if image.interpretation != "srgb" else image
    if base.hasalpha():
        return base[:-1].bandjoin((base[-1] * (alpha / 255.0)).cast("uchar"))
    return base.bandjoin(alpha)


def crop(items: Sequence[Item], settings: CropSettings, bench: Workbench) -> Picture:
    item = items[0]
    region = _region(settings, *size_of(item, bench))
    cropped = render_on(item, RenderParams(crop=region), bench)
    if settings.shape is CropShape.RECTANGLE:
        return cropped
    masked = cropped.with_image(shape_mask(cropped.image, settings.shape, settings.radius))
    fmt = masked.encoding.format
    return masked.with_encoding(format="png") if fmt in ("jpeg", "gif") else masked  # keep the transparency


CROP = Operation(settings=CropSettings, takes=Takes.ONE, gives=Gives.FILE, apply=crop, wants=Wants.ANY)


# -- rotate --------------------------------------------------------------------------------------


class Flip(StrEnum):
    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"
    BOTH = "both"


class RotateSettings(Settings):
    angle: float = Field(default=0, ge=-360, le=360, description="Degrees clockwise; any angle.")
    flip: Flip | None = Field(default=None, description="Mirror after rotating.")
    background: str = Field(default="#ffffff", max_length=32, description="Fills the corners of a non-right angle.")


_FLIP = {Flip.HORIZONTAL: "h", Flip.VERTICAL: "v", Flip.BOTH: "both"}


def rotate(items: Sequence[Item], settings: RotateSettings, bench: Workbench) -> Picture:
    item = items[0]
    angle = settings.angle % 360
    flip = _FLIP[settings.flip] if settings.flip else None
    if angle in (0, 90, 180, 270):
        return render_on(item, RenderParams(rotate=int(angle), flip=flip), bench)
    picture = render_on(item, RenderParams(flip=None), bench)
    fill = rgba(colour(settings.background, "background"))
    image = picture.image
    fill = fill if image.bands >= 3 else fill[:1]
    turned = image.similarity(angle=angle, background=fill[: image.bands] + [255] * max(0, image.bands - len(fill)))
    picture = picture.with_image(turned)
    if flip:
        picture = render_on(picture, RenderParams(flip=flip), bench)
    return picture


ROTATE = Operation(settings=RotateSettings, takes=Takes.ONE, gives=Gives.FILE, apply=rotate, wants=Wants.ANY)


# -- convert and compress: how the file is written -----------------------------------------------


class WriteFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    TIFF = "tiff"
    GIF = "gif"


class ConvertSettings(Settings):
    format: WriteFormat = Field(description="Output format.")
    quality: int | None = Field(default=None, ge=1, le=100, description="Encoder quality (lossy formats).")


def convert(items: Sequence[Item], settings: ConvertSettings, bench: Workbench) -> Picture:
    picture = streamed(items[0], bench)  # nothing but a new encoding: the pixels stream from the file
    return picture.with_encoding(format=settings.format.value, quality=settings.quality)


CONVERT = Operation(settings=ConvertSettings, takes=Takes.ONE, gives=Gives.FILE, apply=convert, wants=Wants.ANY)


class CompressFormat(StrEnum):
    KEEP = "keep"
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"
    PNG = "png"


class CompressSettings(Settings):
    quality: int = Field(default=80, ge=1, le=100, description="Encoder quality, when no targetSizeKB.")
    format: CompressFormat = Field(default=CompressFormat.KEEP, description="keep = the input's format.")
    targetSizeKB: int | None = Field(default=None, ge=1, le=100_000,
                                     description="Search the quality so the file is at most this size (lossy formats).")


def compress(items: Sequence[Item], settings: CompressSettings, bench: Workbench) -> Picture:
    picture = streamed(items[0], bench)  # a size target encodes several times, so reads a copy in memory
    picture = materialized(picture) if settings.targetSizeKB is not None else picture
    fmt = picture.encoding.format if settings.format is CompressFormat.KEEP else settings.format.value
    if settings.targetSizeKB is not None and fmt not in ("jpeg", "webp", "avif"):
        fmt = "jpeg" if not picture.image.hasalpha() else "webp"  # a size target needs a lossy encoder
    # PNG is lossless: its "quality" is a palette of fewer colours (libimagequant), as PNG compressors do
    return picture.with_encoding(format=fmt, quality=settings.quality, target_kb=settings.targetSizeKB,
                                 palette=fmt == "png")


COMPRESS = Operation(settings=CompressSettings, takes=Takes.ONE, gives=Gives.FILE, apply=compress, wants=Wants.ANY)
