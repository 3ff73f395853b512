"""AI tools on models the operator provides: remove-background, upscale, erase-object, colorize,
enhance-faces and restore-photo (which chains the others). Each model's signature is in ``inference``."""

from __future__ import annotations

import base64
import binascii
import functools
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal, TypeVar

import cv2
import numpy as np
import pyvips
from pydantic import Field, model_validator

from engine.errors import InvalidInput
from engine.faces import FaceBox, detect_faces
from engine.imaging import inference
from engine.imaging.essentials import Settings, colour
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.models import Session, session
from engine.imaging.operation import Operation, Workbench
from engine.render.colour import rgba

ALPHA_FORMATS = ("png", "webp", "avif", "tiff", "gif")
M = TypeVar("M", bound=StrEnum)


def model_session(key: str, bench: Workbench) -> Session:
    return session(key, bench.models, bench.model_threads)


def arrays_of(picture: Picture) -> tuple[np.ndarray, np.ndarray | None]:
    """The picture as 8-bit RGB and its alpha (None when opaque), as HxW(x3) arrays."""
    image = picture.image
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb")  # grey, 16-bit and CMYK alike become 8-bit sRGB
    image = image.cast("uchar") if image.format != "uchar" else image
    pixels = image.numpy()
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    rgb = np.ascontiguousarray(pixels[:, :, :3])
    alpha = np.ascontiguousarray(pixels[:, :, 3]) if pixels.shape[2] > 3 else None
    return rgb, alpha


def with_arrays(picture: Picture, rgb: np.ndarray, alpha: np.ndarray | None = None) -> Picture:
    """The arrays as the picture's new image; a transparent result leaves JPEG for PNG."""
    pixels = rgb if alpha is None else np.dstack([rgb, alpha])
    made = picture.with_image(pyvips.Image.new_from_array(np.ascontiguousarray(pixels)).copy(interpretation="srgb"))
    if alpha is not None and made.encoding.format not in ALPHA_FORMATS:
        made = made.with_encoding(format="png")
    return made


def denoised(rgb: np.ndarray, strength: float) -> np.ndarray:
    """Non-local means (OpenCV): ``strength`` 0-1 maps to a filter strength of 3-15."""
    h = 3.0 + 12.0 * strength
    return cv2.fastNlMeansDenoisingColored(rgb, None, h, h, 7, 21)


# -- remove-background ---------------------------------------------------------------------------


class SegmentModel(StrEnum):
    U2NET = "u2net"
    BIREFNET = "birefnet"


def first_set(choices: type[M], configured: dict[str, str]) -> M:
    """A model setting left out: the first of ``choices`` the operator configured (else the first)."""
    return next((choice for choice in choices if choice.value in configured), next(iter(choices)))


_SEGMENT_SIZE = {SegmentModel.U2NET: 320, SegmentModel.BIREFNET: 1024}


class RemoveBackgroundSettings(Settings):
    model: SegmentModel | None = Field(default=None, description="u2net (fast) or birefnet (finer edges); default: "
                                       "whichever is set, u2net first.")
    alphaMatting: bool = Field(default=False, description="Refine the edge between the two thresholds (hair, fur).")
    alphaMattingForeground: int = Field(default=240, ge=1, le=255, description="Mask values at or above: solid subject.")
    alphaMattingBackground: int = Field(default=10, ge=0, le=254, description="Mask values at or below: background.")
    returnMask: bool = Field(default=False, description="Give the mask itself (white = subject) as a greyscale PNG.")
    background: str | None = Field(default=None, max_length=32,
                                   description="Fill the background with this colour instead of transparency.")

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> RemoveBackgroundSettings:
        if self.alphaMattingBackground >= self.alphaMattingForeground:
            raise ValueError("alphaMattingBackground must be below alphaMattingForeground")
        return self

    def required_models(self, configured: dict[str, str]) -> tuple[str, ...]:
        return ((self.model or first_set(SegmentModel, configured)).value,)


def _guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter: ``source`` smoothed along the edges of ``guide`` (both float 0-1)."""
    def box(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, -1, (2 * radius + 1, 2 * radius + 1))
    mean_g, mean_s = box(guide), box(source)
    slope = (box(guide * source) - mean_g * mean_s) / (box(guide * guide) - mean_g * mean_g + eps)
    offset = mean_s - slope * mean_g
    return box(slope) * guide + box(offset)


def _matte(rgb: np.ndarray, mask: np.ndarray, foreground: int, background: int) -> np.ndarray:
    """A trimap from the two thresholds; the band between them takes the guided filter's soft edge."""
    level = mask * 255.0
    radius = max(2, round(max(mask.shape) / 200))
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    sure_fg = cv2.erode((level >= foreground).astype(np.uint8), kernel) > 0  # widened band, as rembg erodes
    sure_bg = cv2.erode((level <= background).astype(np.uint8), kernel) > 0
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    soft = np.clip(_guided_filter(grey, mask.astype(np.float32), radius * 2, 1e-3), 0.0, 1.0)
    return np.where(sure_fg, 1.0, np.where(sure_bg, 0.0, soft)).astype(np.float32)


def remove_background(items: Sequence[Item], settings: RemoveBackgroundSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    fill = colour(settings.background, "background") if settings.background else None
    rgb, alpha = arrays_of(picture)
    chosen = settings.model or first_set(SegmentModel, bench.models)
    mask = inference.segment(model_session(chosen.value, bench), rgb, default_size=_SEGMENT_SIZE[chosen],
                             logits=chosen is SegmentModel.BIREFNET)
    if settings.alphaMatting:
        mask = _matte(rgb, mask, settings.alphaMattingForeground, settings.alphaMattingBackground)
    if alpha is not None:
        mask = mask * (alpha.astype(np.float32) / 255.0)
    matte = (mask * 255.0).round().astype(np.uint8)
    if settings.returnMask:
        image = pyvips.Image.new_from_array(matte).copy(interpretation="b-w")
        return picture.with_image(image).with_encoding(format="png")
    if fill is None:
        return with_arrays(picture, rgb, matte)
    colour_rgb = np.array(rgba(fill)[:3], dtype=np.float32)
    weight = mask[:, :, None]
    flat = rgb.astype(np.float32) * weight + colour_rgb * (1.0 - weight)
    return with_arrays(picture, flat.round().astype(np.uint8))


REMOVE_BACKGROUND = Operation(settings=RemoveBackgroundSettings, takes=Takes.ONE, gives=Gives.FILE,
                              apply=remove_background, model=SegmentModel.U2NET.value)


# -- enhance-faces (used by upscale and restore-photo too) ---------------------------------------


class FaceModel(StrEnum):
    GFPGAN = "gfpgan"
    CODEFORMER = "codeformer"


class EnhanceFacesSettings(Settings):
    model: FaceModel | None = Field(default=None, description="gfpgan or codeformer; default: whichever is set, "
                                    "gfpgan first.")
    strength: float = Field(default=1.0, ge=0, le=1, description="How much of the restored face replaces the original.")
    sensitivity: float = Field(default=0.6, ge=0, le=1, description="Face detection: higher also takes less certain faces.")
    centerFace: bool = Field(default=False, description="Only the face nearest the centre.")

    def required_models(self, configured: dict[str, str]) -> tuple[str, ...]:
        return ((self.model or first_set(FaceModel, configured)).value,)


FACE_SPAN = 1.8  # the aligned crop's side, in face-box sides: the FFHQ template's face fills ~55% of it
FACE_TOP = 0.58  # the box centre sits this far down the crop (the template's nose line)


@functools.cache
def _feather() -> np.ndarray:
    """Where a restored 512 crop replaces the original: an ellipse over the face with soft edges."""
    size = inference.FACE_SIZE
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, int(size * FACE_TOP)), (int(size * 0.36), int(size * 0.42)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), size * 0.04)


def _sensitivity_score(sensitivity: float) -> float:
    return min(0.95, max(0.05, 1.0 - sensitivity))


def enhance_faces_in(rgb: np.ndarray, model: Session, *, strength: float, sensitivity: float, center: bool,
                     fidelity: float = 0.5) -> tuple[np.ndarray, int]:
    """Each detected face cropped square around its box, scaled to the model's 512 x 512, restored and
    blended back through the inverse transform; the number of faces done."""
    faces = detect_faces(rgb, min_score=_sensitivity_score(sensitivity))
    if center and faces:
        height, width = rgb.shape[:2]
        faces = [min(faces, key=lambda f: math.hypot(f.x + f.w / 2 - width / 2, f.y + f.h / 2 - height / 2))]
    result = rgb.copy()
    for face in faces:
        _restore_one(result, face, model, strength, fidelity)
    return result, len(faces)


def _restore_one(rgb: np.ndarray, face: FaceBox, model: Session, strength: float, fidelity: float) -> None:
    """Restore one face of ``rgb`` in place: only the pixels of its crop square change."""
    size = inference.FACE_SIZE
    side = FACE_SPAN * max(face.w, face.h)
    left, top = face.x + face.w / 2 - side / 2, face.y + face.h / 2 - side * FACE_TOP
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(left)), max(0, int(top))  # only the crop's own region is touched
    x1, y1 = min(width, math.ceil(left + side)), min(height, math.ceil(top + side))
    region = rgb[y0:y1, x0:x1]
    k = size / side
    to_crop = np.array([[k, 0, k * (x0 - left)], [0, k, k * (y0 - top)]], dtype=np.float64)
    sampled = cv2.GaussianBlur(region, (0, 0), (1 / k - 1) / 2) if k < 0.8 else region  # no aliasing when shrinking
    crop = cv2.warpAffine(sampled, to_crop, (size, size), flags=cv2.INTER_LINEAR if k < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT_101)
    restored = inference.restore_face(model, crop, fidelity=fidelity)
    back_flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    back = cv2.warpAffine(restored, to_crop, (x1 - x0, y1 - y0), flags=back_flags, borderMode=cv2.BORDER_REFLECT_101)
    weight = cv2.warpAffine(_feather(), to_crop, (x1 - x0, y1 - y0), flags=back_flags)[:, :, None] * strength
    rgb[y0:y1, x0:x1] = (region * (1.0 - weight) + back * weight).round().astype(np.uint8)


def enhance_faces(items: Sequence[Item], settings: EnhanceFacesSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    rgb, alpha = arrays_of(picture)
    chosen = settings.model or first_set(FaceModel, bench.models)
    done, count = enhance_faces_in(rgb, model_session(chosen.value, bench), strength=settings.strength,
                                   sensitivity=settings.sensitivity, center=settings.centerFace)
    bench.progress(1.0, f"{count} face(s) enhanced")
    return with_arrays(picture, done, alpha)


ENHANCE_FACES = Operation(settings=EnhanceFacesSettings, takes=Takes.ONE, gives=Gives.FILE, apply=enhance_faces,
                          model=FaceModel.GFPGAN.value)


# -- upscale -------------------------------------------------------------------------------------


class UpscaleFormat(StrEnum):
    KEEP = "keep"
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"


class UpscaleSettings(Settings):
    scale: Literal[2, 4] = Field(default=4, description="2 or 4 times larger.")
    denoise: float = Field(default=0.0, ge=0, le=1, description="Remove noise before enlarging (0 = off).")
    faceEnhance: bool = Field(default=False, description="Also restore faces (needs GFPGAN or CodeFormer).")
    format: UpscaleFormat = Field(default=UpscaleFormat.KEEP, description="keep = the input's format.")
    quality: int | None = Field(default=None, ge=1, le=100, description="Encoder quality (lossy formats).")

    def required_models(self, configured: dict[str, str]) -> tuple[str, ...]:
        return ("realesrgan", first_set(FaceModel, configured).value) if self.faceEnhance else ("realesrgan",)


def upscale(items: Sequence[Item], settings: UpscaleSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    scale = settings.scale
    width, height = picture.image.width, picture.image.height
    limit = bench.render.max_output_pixels
    if width * height * scale * scale > limit:  # checked before any work: the output is held in memory
        raise InvalidInput(f"x{scale} of {width}x{height} is {width * height * scale * scale:,} pixels; outputs are "
                           f"limited to {limit:,}. Use scale 2 or a smaller image.", code="tool_settings_invalid",
                           field="scale")
    rgb, alpha = arrays_of(picture)
    if settings.denoise > 0:
        rgb = denoised(rgb, settings.denoise)
    big = inference.upscale(model_session("realesrgan", bench), rgb, scale=scale, tile=bench.tile_px,
                            progress=lambda done: bench.progress(0.9 * done, "upscaling"))
    size = (width * scale, height * scale)
    if big.shape[1] != size[0]:  # a x2 model asked for x4: the rest by Lanczos
        big = cv2.resize(big, size, interpolation=cv2.INTER_LANCZOS4)
    if settings.faceEnhance:
        faces = model_session(first_set(FaceModel, bench.models).value, bench)
        big, _count = enhance_faces_in(big, faces, strength=1.0, sensitivity=0.6, center=False)
    big_alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_CUBIC) if alpha is not None else None
    made = with_arrays(picture, big, big_alpha)
    fmt = made.encoding.format if settings.format is UpscaleFormat.KEEP else settings.format.value
    return made.with_encoding(format=fmt, quality=settings.quality)


UPSCALE = Operation(settings=UpscaleSettings, takes=Takes.ONE, gives=Gives.FILE, apply=upscale, model="realesrgan")


# -- erase-object --------------------------------------------------------------------------------


MAX_MASK_CHARS = 16_000_000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class EraseObjectSettings(Settings):
    maskData: str | None = Field(default=None, max_length=MAX_MASK_CHARS,
                                 description="The mask as base64 PNG (or a data: URI) when no second file is given; "
                                 "white or opaque = erase.")
    maskThreshold: int = Field(default=128, ge=0, le=254, description="Mask values above this are erased.")


def _mask_from_data(data: str, bench: Workbench) -> pyvips.Image:
    text = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("maskData is not base64.", code="tool_settings_invalid", field="maskData") from error
    if not raw.startswith(_PNG_MAGIC):
        raise InvalidInput("maskData must be a PNG.", code="tool_settings_invalid", field="maskData")
    try:
        image = pyvips.Image.pngload_buffer(raw)  # the header only: pixels are read after the size check
    except pyvips.Error as error:
        raise InvalidInput("maskData is not a readable PNG.", code="tool_settings_invalid", field="maskData") from error
    if image.width * image.height > bench.render.max_input_pixels:
        raise InvalidInput(f"maskData is larger than {bench.render.max_input_pixels:,} pixels.",
                           code="tool_settings_invalid", field="maskData")
    return image


def _mask(image: pyvips.Image, width: int, height: int, threshold: int) -> np.ndarray:
    """Where to erase, at the picture's size: the alpha of a mask with transparency, else its lightness."""
    if image.hasalpha() and image[image.bands - 1].min() < 255:
        values = image[image.bands - 1]
    else:
        values = image.colourspace("b-w")[0] if image.interpretation != "b-w" else image[0]
    values = values.cast("uchar") if values.format != "uchar" else values
    if (values.width, values.height) != (width, height):
        values = values.resize(width / values.width, vscale=height / values.height, kernel="nearest")
    return values.numpy().reshape(height, width) > threshold


def erase_object(items: Sequence[Item], settings: EraseObjectSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    if len(items) > 1:
        mask_picture = items[1]
        assert isinstance(mask_picture, Picture)
        source = mask_picture.image
    elif settings.maskData:
        source = _mask_from_data(settings.maskData, bench)
    else:
        raise InvalidInput("erase-object needs a mask: a second file, or maskData (a base64 PNG).",
                           code="tool_settings_invalid", field="maskData")
    mask = _mask(source, picture.image.width, picture.image.height, settings.maskThreshold)
    if not mask.any():
        raise InvalidInput(f"The mask has no pixel above maskThreshold ({settings.maskThreshold}): nothing to erase.",
                           code="tool_settings_invalid", field="maskThreshold")
    rgb, alpha = arrays_of(picture)
    return with_arrays(picture, inference.inpaint(model_session("lama", bench), rgb, mask), alpha)


ERASE_OBJECT = Operation(settings=EraseObjectSettings, takes=Takes.ONE_OR_TWO, gives=Gives.FILE, apply=erase_object,
                         model="lama")


# -- colorize ------------------------------------------------------------------------------------


class ColorizeSettings(Settings):
    intensity: float = Field(default=1.0, ge=0, le=1, description="How strong the added colour is (0 = grey).")


def colorize(items: Sequence[Item], settings: ColorizeSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    rgb, alpha = arrays_of(picture)
    return with_arrays(picture, inference.colorize(model_session("ddcolor", bench), rgb, intensity=settings.intensity), alpha)


COLORIZE = Operation(settings=ColorizeSettings, takes=Takes.ONE, gives=Gives.FILE, apply=colorize,
                     model="ddcolor")
