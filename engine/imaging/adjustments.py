"""Adjustments: color-adjustments, sharpening, replace-color. Per-pixel libvips arithmetic on the colour
bands; alpha is carried through untouched (except where replace-color makes a colour transparent)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import pyvips
from pydantic import Field

from engine.imaging.essentials import Settings, colour
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Workbench
from engine.render.colour import rgba

SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]
VIGNETTE_DEPTH = 0.35  # how much darker the corners get (of the brightness they had)


def split_alpha(image: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    """The sRGB colour bands (3, 8-bit) and the alpha band if there is one."""
    alpha = image.extract_band(image.bands - 1) if image.hasalpha() else None
    colour_bands = image.extract_band(0, n=image.bands - 1) if alpha is not None else image
    if colour_bands.interpretation != "srgb" or colour_bands.format != "uchar" or colour_bands.bands != 3:
        colour_bands = colour_bands.colourspace("srgb").cast("uchar")
    if colour_bands.bands == 1:
        colour_bands = colour_bands.bandjoin([colour_bands, colour_bands])
    if alpha is not None and alpha.format != "uchar":
        alpha = (alpha / 257).cast("uchar") if alpha.format == "ushort" else alpha.cast("uchar")
    return colour_bands, alpha


def joined(colour_bands: pyvips.Image, alpha: pyvips.Image | None) -> pyvips.Image:
    """Colour (any numeric format) clipped back to 8-bit sRGB, with the alpha band again."""
    out = colour_bands.cast("uchar").copy(interpretation="srgb")
    return out.bandjoin(alpha) if alpha is not None else out


def frame_height(image: pyvips.Image) -> int:
    """One frame's height: an animation is held as frames stacked vertically."""
    if image.get_typeof("page-height") and image.get("page-height") > 0 and image.height % image.get("page-height") == 0:
        return int(image.get("page-height"))
    return image.height


# -- color-adjustments -----------------------------------------------------------------------------


class Effect(StrEnum):
    GRAYSCALE = "grayscale"
    SEPIA = "sepia"
    INVERT = "invert"
    VIGNETTE = "vignette"


class ColorSettings(Settings):
    brightness: int = Field(default=0, ge=-100, le=100, description="Shifts every level (+100 = +128 levels).")
    contrast: int = Field(default=0, ge=-100, le=100, description="Spread around mid-grey (-100 = a quarter, +100 = 4x).")
    exposure: float = Field(default=0, ge=-3, le=3, description="Stops of light (linear light x 2^exposure).")
    saturation: int = Field(default=0, ge=-100, le=100, description="Chroma, percent change (-100 = grey).")
    temperature: int = Field(default=0, ge=-100, le=100, description="Warmer (+, more red, less blue) or cooler (-).")
    sharpness: int = Field(default=0, ge=0, le=100, description="Sharpening strength.")
    vibrance: int = Field(default=0, ge=-100, le=100, description="Saturation that spares already-vivid colours.")
    effects: list[Effect] = Field(default_factory=list, max_length=4, description="Applied in the order given.")


def color_adjust(image: pyvips.Image, settings: ColorSettings) -> pyvips.Image:
    """Every setting of color-adjustments except sharpness, on one image (also used by image-enhancement)."""
    rgb, alpha = split_alpha(image)
    if settings.exposure:
        rgb = (rgb.colourspace("scrgb") * 2 ** settings.exposure).colourspace("srgb")
    values = rgb.cast("float")
    if settings.brightness:
        values = values + settings.brightness * 1.28
    if settings.contrast:
        values = (values - 128) * 2 ** (settings.contrast / 50) + 128
    if settings.temperature:
        shift = settings.temperature * 0.4
        values = values + [shift, 0, -shift]
    rgb = values.cast("uchar").copy(interpretation="srgb")
    if settings.saturation or settings.vibrance:
        rgb = _chroma(rgb, settings.saturation, settings.vibrance)
    for effect in settings.effects:
        rgb = _effect(rgb, effect)
    return joined(rgb, alpha)


def _chroma(rgb: pyvips.Image, saturation: int, vibrance: int) -> pyvips.Image:
    lch = rgb.colourspace("lch")
    chroma = lch[1] * (1 + saturation / 100)
    if vibrance:  # weaker on colours that are already vivid (chroma ~80 and up)
        vivid = (chroma > 80).ifthenelse(80, chroma) / 80
        chroma = chroma * (1 + vibrance / 100 * (1 - vivid))
    chroma = (chroma < 0).ifthenelse(0, chroma)
    return lch[0].bandjoin([chroma, lch[2]]).copy(interpretation="lch").colourspace("srgb").cast("uchar")


def _effect(rgb: pyvips.Image, effect: Effect) -> pyvips.Image:
    if effect is Effect.GRAYSCALE:
        grey = rgb.colourspace("b-w")
        return grey.bandjoin([grey, grey]).copy(interpretation="srgb")
    if effect is Effect.SEPIA:
        return rgb.recomb(pyvips.Image.new_from_list(SEPIA)).cast("uchar").copy(interpretation="srgb")
    if effect is Effect.INVERT:
        return rgb.invert().copy(interpretation="srgb")
    return (rgb * _vignette(rgb.width, frame_height(rgb), rgb.height)).cast("uchar").copy(interpretation="srgb")


def _vignette(width: int, height: int, total_height: int) -> pyvips.Image:
    """1 in the centre, darker towards the corners, one mask per frame."""
    xy = pyvips.Image.xyz(width, height)
    cx, cy = max(width - 1, 1) / 2, max(height - 1, 1) / 2
    reach = ((xy[0] - cx) / cx) ** 2 + ((xy[1] - cy) / cy) ** 2  # 0 centre, 1 mid-edge, 2 corners
    mask = 1 - VIGNETTE_DEPTH * reach
    return mask.replicate(1, total_height // height) if total_height != height else mask


def color_adjustments(items: Sequence[Item], settings: ColorSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    adjusted = picture.with_image(color_adjust(picture.image, settings))
    if settings.sharpness:
        adjusted = adjusted.with_image(sharpen_adaptive(adjusted.image, 0.5 + settings.sharpness / 50, settings.sharpness * 2, 0))
    return adjusted


COLOR_ADJUSTMENTS = Operation(settings=ColorSettings, takes=Takes.ONE, gives=Gives.FILE, apply=color_adjustments,
                              streams=True)


# -- sharpening ----------------------------------------------------------------------------------


class SharpenMode(StrEnum):
    ADAPTIVE = "adaptive"
    UNSHARP = "unsharp"
    HIGHPASS = "highpass"


class SharpeningSettings(Settings):
    mode: SharpenMode = Field(default=SharpenMode.ADAPTIVE, description="adaptive: stronger on edges than on flat areas.")
    amount: int = Field(default=100, ge=0, le=500, description="Strength, percent.")
    radius: float = Field(default=1.0, ge=0.3, le=10, description="Gaussian sigma of the detail sharpened, pixels.")
    threshold: int = Field(default=0, ge=0, le=255, description="Differences under this many levels are left alone.")


def sharpen_adaptive(image: pyvips.Image, radius: float, amount: int, threshold: int) -> pyvips.Image:
    """libvips' sharpen (the render's ``sharpen``) with its edge slope, limits and flat threshold exposed."""
    rgb, alpha = split_alpha(image)
    scale = amount / 100
    sharp = rgb.sharpen(sigma=radius, x1=max(0.5, threshold * 100 / 255), m1=0, m2=3 * scale,
                        y2=10 * scale, y3=20 * scale)
    return joined(sharp.colourspace("srgb"), alpha)


def _detail(rgb: pyvips.Image, radius: float, amount: int, threshold: int) -> pyvips.Image:
    """The high frequencies, scaled by ``amount``, zero where smaller than ``threshold``."""
    values = rgb.cast("float")
    detail = values - values.gaussblur(radius)
    if threshold:
        detail = (detail.abs() >= threshold).ifthenelse(detail, 0)
    return detail * (amount / 100)


def sharpening(items: Sequence[Item], settings: SharpeningSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    if settings.mode is SharpenMode.ADAPTIVE:
        return picture.with_image(sharpen_adaptive(picture.image, settings.radius, settings.amount, settings.threshold))
    rgb, alpha = split_alpha(picture.image)
    detail = _detail(rgb, settings.radius, settings.amount, settings.threshold)
    if settings.mode is SharpenMode.UNSHARP:
        return picture.with_image(joined(rgb.cast("float") + detail, alpha))
    # high pass: the detail as a mid-grey layer, overlay-blended onto the image
    base, layer = rgb.cast("float") / 255, (detail + 128) / 255
    blended = (base < 0.5).ifthenelse(2 * base * layer, 1 - 2 * (1 - base) * (1 - layer))
    return picture.with_image(joined(blended * 255, alpha))


SHARPENING = Operation(settings=SharpeningSettings, takes=Takes.ONE, gives=Gives.FILE, apply=sharpening)


# -- replace-color -------------------------------------------------------------------------------


class ReplaceColorSettings(Settings):
    targetColor: str = Field(max_length=32, description="The colour to find: #rrggbb or a CSS name.")
    replacementColor: str = Field(max_length=32, description="Its replacement; #rrggbb00 makes it transparent.")
    tolerance: int = Field(default=30, ge=0, le=100, description="Largest colour difference (CIE76 delta E) matched.")
    invert: bool = Field(default=False, description="Replace every colour except the target.")


def _lab_of(hex_colour: str) -> list[float]:
    red, green, blue, _ = rgba(hex_colour)
    pixel = (pyvips.Image.black(1, 1) + [red, green, blue]).cast("uchar").copy(interpretation="srgb")
    return list(pixel.colourspace("lab").getpoint(0, 0))


def replace_color(items: Sequence[Item], settings: ReplaceColorSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    target, replacement = colour(settings.targetColor, "targetColor"), colour(settings.replacementColor, "replacementColor")
    rgb, alpha = split_alpha(picture.image)
    lab = rgb.colourspace("lab")
    target_lab, new_lab = _lab_of(target), _lab_of(replacement)
    difference = lab - target_lab
    distance = (difference[0] ** 2 + difference[1] ** 2 + difference[2] ** 2) ** 0.5
    matched = (distance > settings.tolerance) if settings.invert else (distance <= settings.tolerance)
    # a matched pixel keeps its shading (its lightness offset from the target); everything else is flat
    lightness = lab[0] - target_lab[0] + new_lab[0] if not settings.invert else lab[0] * 0 + new_lab[0]
    recoloured = lightness.bandjoin([lab[1] * 0 + new_lab[1], lab[2] * 0 + new_lab[2]]).copy(interpretation="lab")
    out = matched.ifthenelse(recoloured.colourspace("srgb").cast("uchar"), rgb)
    new_alpha = rgba(replacement)[3]
    if new_alpha < 255:
        alpha = matched.ifthenelse(new_alpha, alpha if alpha is not None else 255).cast("uchar")
    result = picture.with_image(joined(out, alpha))
    if alpha is not None and result.encoding.format in ("jpeg", "gif"):
        return result.with_encoding(format="png")  # the transparency must survive the writing
    return result


REPLACE_COLOR = Operation(settings=ReplaceColorSettings, takes=Takes.ONE, gives=Gives.FILE, apply=replace_color)
