"""AI tools on the models Picsha ships (no download): blur-faces, smart-crop, image-enhancement,
noise-removal, red-eye-removal and ocr. Faces are ``engine.faces`` (NudeNet's YOLO, tiled), text is the
analysis OCR (rapidocr's multilingual PP-OCRv6); the rest is image analysis with libvips and OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import cv2
import numpy as np
import pyvips
from pydantic import BaseModel, Field

from engine.enrich import ocr as text_reader
from engine.errors import InvalidInput
from engine.faces import FaceBox, detect_faces_tiled
from engine.imaging.adjustments import ColorSettings, sharpen_adaptive, color_adjust, frame_height, joined, split_alpha
from engine.imaging.chain import render_on
from engine.imaging.essentials import Settings
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Wants, Workbench
from engine.imaging.overlay import rounded_box
from engine.render.params import Fit, Gravity, RenderParams

ANALYSIS_SIDE = 256  # image-enhancement measures a thumbnail this wide


def rgb_array(image: pyvips.Image) -> np.ndarray:
    """The first frame as an RGB uint8 array (transparency flattened on white)."""
    image = image.crop(0, 0, image.width, frame_height(image))
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    rgb, _ = split_alpha(image)
    return np.ndarray(buffer=rgb.write_to_memory(), dtype=np.uint8, shape=(rgb.height, rgb.width, 3))


def from_array(pixels: np.ndarray) -> pyvips.Image:
    height, width, bands = pixels.shape
    return pyvips.Image.new_from_memory(np.ascontiguousarray(pixels).data, width, height, bands, "uchar").copy(
        interpretation="srgb")


def min_score(sensitivity: float) -> float:
    """The face model's score a face needs: 0.65 at sensitivity 0, 0.4 (its default) at 0.5, 0.15 at 1."""
    return round(0.65 - 0.5 * sensitivity, 3)


def find_faces(picture: Picture, sensitivity: float = 0.5) -> list[FaceBox]:
    return detect_faces_tiled(rgb_array(picture.image), min_score(sensitivity))


def _one_frame(item: Item) -> Picture:
    """The picture's first frame (the face and pixel-statistics tools work on stills)."""
    assert isinstance(item, Picture)
    picture, image = item, item.image
    return picture.with_image(image.crop(0, 0, image.width, frame_height(image))) if frame_height(image) != image.height else picture


# -- blur-faces ----------------------------------------------------------------------------------


class BlurFacesSettings(Settings):
    blurRadius: int = Field(default=20, ge=1, le=100, description="Blur sigma, pixels (at least a tenth of the face).")
    sensitivity: float = Field(default=0.5, ge=0, le=1, description="Higher finds more, less certain faces.")


def _grown(face: FaceBox, factor: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The box grown by ``factor`` around its centre, kept inside the image: left, top, width, height."""
    w, h = face.w * factor, face.h * factor
    left, top = max(0, round(face.x + face.w / 2 - w / 2)), max(0, round(face.y + face.h / 2 - h / 2))
    return left, top, max(1, min(width - left, round(w))), max(1, min(height - top, round(h)))


def blur_faces(items: Sequence[Item], settings: BlurFacesSettings, bench: Workbench) -> Picture:
    picture = _one_frame(items[0])
    image = picture.image
    for face in find_faces(picture, settings.sensitivity):
        left, top, w, h = _grown(face, 1.3, image.width, image.height)
        region = picture.with_image(image.crop(left, top, w, h))
        sigma = min(100.0, max(float(settings.blurRadius), face.w / 10))
        blurred = render_on(region, RenderParams(blur=sigma), bench).image  # the render's blur step
        # an oval, so the blur follows the head rather than a hard-edged box
        oval = rounded_box(w, h, min(w, h) // 2, [255, 255, 255, 255])[3].gaussblur(max(1.0, min(w, h) / 30)) / 255
        mixed = (blurred.cast("float") * oval + region.image.cast("float") * (1 - oval)).cast(image.format)
        image = image.insert(mixed, left, top)
    return picture.with_image(image)


BLUR_FACES = Operation(settings=BlurFacesSettings, takes=Takes.ONE, gives=Gives.FILE, apply=blur_faces)


# -- smart-crop ----------------------------------------------------------------------------------


class SmartCropMode(StrEnum):
    SUBJECT = "subject"
    FACE = "face"
    TRIM = "trim"


class FacePreset(StrEnum):
    CLOSE_UP = "close-up"
    HEAD_AND_SHOULDERS = "head-and-shoulders"
    UPPER_BODY = "upper-body"
    HALF_BODY = "half-body"


# crop height in face heights, and where the face's centre sits from the top (fraction of the crop)
PRESET_FRAMING = {
    FacePreset.CLOSE_UP: (1.8, 0.5), FacePreset.HEAD_AND_SHOULDERS: (2.8, 0.38),
    FacePreset.UPPER_BODY: (4.0, 0.3), FacePreset.HALF_BODY: (5.5, 0.24),
}


class SmartCropSettings(Settings):
    mode: SmartCropMode = Field(default=SmartCropMode.SUBJECT, description="subject: most interesting region; "
                                "face: around faces; trim: cut a plain border away.")
    width: int | None = Field(default=None, ge=1, le=8192, description="Output width, pixels.")
    height: int | None = Field(default=None, ge=1, le=8192, description="Output height, pixels.")
    facePreset: FacePreset | None = Field(default=None, description="face mode: how much of the person to keep.")


def _preset_region(face: FaceBox, preset: FacePreset, aspect: float, width: int, height: int) -> tuple[int, int, int, int]:
    span, face_at = PRESET_FRAMING[preset]
    crop_h = face.h * span
    crop_w = crop_h * aspect
    shrink = min(1.0, width / crop_w, height / crop_h)  # never larger than the picture
    crop_w, crop_h = crop_w * shrink, crop_h * shrink
    left = face.x + face.w / 2 - crop_w / 2
    top = face.y + face.h / 2 - crop_h * face_at
    left, top = min(max(0.0, left), width - crop_w), min(max(0.0, top), height - crop_h)
    return round(left), round(top), max(1, round(crop_w)), max(1, round(crop_h))


def smart_crop(items: Sequence[Item], settings: SmartCropSettings, bench: Workbench) -> Picture:
    item = items[0]
    w, h = settings.width, settings.height
    if settings.mode is SmartCropMode.TRIM:
        picture = item if isinstance(item, Picture) else render_on(item, RenderParams(), bench)
        flat = picture.image.flatten(background=[255, 255, 255]) if picture.image.hasalpha() else picture.image
        left, top, tw, th = (0, 0, 0, 0) if min(flat.width, flat.height) < 3 else \
            flat.find_trim(threshold=12, background=flat.getpoint(0, 0))  # its median window needs 3 px
        if tw > 0 and th > 0:
            picture = render_on(picture, RenderParams(crop=(left, top, tw, th)), bench)
        return render_on(picture, RenderParams(w=w, h=h, fit=Fit.INSIDE), bench) if (w or h) else picture
    if settings.mode is SmartCropMode.FACE and settings.facePreset is not None:
        picture = item if isinstance(item, Picture) else render_on(item, RenderParams(), bench)
        faces = find_faces(picture)
        if faces:
            face = max(faces, key=lambda found: found.w * found.h)
            aspect = (w / h) if w and h else 0.8  # a portrait 4:5 unless a size says otherwise
            region = _preset_region(face, settings.facePreset, aspect, picture.image.width, frame_height(picture.image))
            return render_on(picture, RenderParams(crop=region, w=w, h=h, fit=Fit.COVER), bench)
        item = picture  # no face: the render's attention crop below, at the preset's portrait shape
        if not (w and h):
            width, height = picture.image.width, frame_height(picture.image)
            w, h = (min(width, round(height * 0.8)), height) if width > height * 0.8 else (width, round(width / 0.8))
    if not (w and h):
        raise InvalidInput("smart-crop subject and face modes need width and height (facePreset alone may omit them).",
                           code="tool_settings_invalid", field="width")
    gravity = Gravity.FACE if settings.mode is SmartCropMode.FACE else Gravity.ATTENTION
    return render_on(item, RenderParams(w=w, h=h, fit=Fit.COVER, gravity=gravity), bench)


SMART_CROP = Operation(settings=SmartCropSettings, takes=Takes.ONE, gives=Gives.FILE, apply=smart_crop, wants=Wants.ANY)


# -- image-enhancement ---------------------------------------------------------------------------


class EnhanceMode(StrEnum):
    AUTO = "auto"
    EXPOSURE = "exposure"
    CONTRAST = "contrast"
    COLOR = "color"
    SHARPNESS = "sharpness"


class EnhanceSettings(Settings):
    mode: EnhanceMode = Field(default=EnhanceMode.AUTO, description="auto corrects whatever the analysis finds off.")
    strength: int = Field(default=50, ge=0, le=100, description="How far towards the measured correction.")


class Measures(BaseModel):
    luminance: float  # mean linear luminance, 0-1 (a well-exposed picture is near 0.18)
    low: float  # 1st and 99th percentile of the grey levels, 0-255
    high: float
    chroma: float  # mean LCh chroma
    detail: float  # mean absolute Laplacian of the grey levels


def measure(image: pyvips.Image) -> Measures:
    small = image.thumbnail_image(ANALYSIS_SIDE, height=ANALYSIS_SIDE) if max(image.width, image.height) > ANALYSIS_SIDE else image
    rgb, _ = split_alpha(small)
    grey = rgb.colourspace("b-w")[0]
    levels = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
    low, high = np.percentile(levels, [1, 99])
    laplacian = np.abs(cv2.Laplacian(levels, cv2.CV_32F)).mean()
    linear = rgb.colourspace("scrgb")
    luminance = (linear[0] * 0.2126 + linear[1] * 0.7152 + linear[2] * 0.0722).avg()  # Rec. 709 weights
    return Measures(luminance=float(luminance), low=float(low),
                    high=float(high), chroma=float(rgb.colourspace("lch")[1].avg()), detail=float(laplacian))


def _levels(image: pyvips.Image, low: float, high: float, share: float) -> pyvips.Image:
    """Stretch ``low``-``high`` towards 0-255, ``share`` of the way."""
    gain = 255 / max(high - low, 1)
    scale, offset = 1 + (gain - 1) * share, -low * gain * share
    rgb, alpha = split_alpha(image)
    return joined(rgb.cast("float") * scale + offset, alpha)


def enhance(image: pyvips.Image, mode: EnhanceMode, strength: int) -> pyvips.Image:
    share = strength / 100
    found = measure(image)
    every = mode is EnhanceMode.AUTO
    if every or mode is EnhanceMode.EXPOSURE:
        stops = max(-2.0, min(2.0, math.log2(0.18 / max(found.luminance, 1e-3))))
        if abs(stops) > 0.25:  # within a quarter stop is exposed well enough
            image = color_adjust(image, ColorSettings(exposure=round(stops * share, 2)))
    if every or mode is EnhanceMode.CONTRAST:
        if found.high - found.low < 235:
            image = _levels(image, found.low, found.high, share)
    if every or mode is EnhanceMode.COLOR:
        if found.chroma < 30:  # dull: vibrance lifts the weak colours most
            image = color_adjust(image, ColorSettings(vibrance=round((30 - found.chroma) / 30 * 100 * share)))
    if every or mode is EnhanceMode.SHARPNESS:
        if found.detail < 12:
            image = sharpen_adaptive(image, 1.0, round(200 * share * (1 - found.detail / 12)), 0)
    return image


def image_enhancement(items: Sequence[Item], settings: EnhanceSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    return picture.with_image(enhance(picture.image, settings.mode, settings.strength))


IMAGE_ENHANCEMENT = Operation(settings=EnhanceSettings, takes=Takes.ONE, gives=Gives.FILE, apply=image_enhancement)


# -- noise-removal -------------------------------------------------------------------------------


class DenoiseQuality(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    BEST = "best"


class NoiseRemovalSettings(Settings):
    quality: DenoiseQuality = Field(default=DenoiseQuality.BALANCED, description="fast: median; balanced: bilateral; "
                                    "best: non-local means (slowest).")
    strength: int = Field(default=50, ge=0, le=100, description="How much noise to remove.")
    preserveDetail: bool = Field(default=True, description="Keep edges from the original.")
    colorNoise: bool = Field(default=True, description="Also smooth colour speckle (chroma) more strongly.")


def _denoised(pixels: np.ndarray, settings: NoiseRemovalSettings) -> np.ndarray:
    strength = settings.strength / 100
    if settings.quality is DenoiseQuality.FAST:
        return cv2.medianBlur(pixels, 3 if strength < 0.6 else 5)
    if settings.quality is DenoiseQuality.BALANCED:
        return cv2.bilateralFilter(pixels, 7, 20 + 60 * strength, 3 + 4 * strength)
    h = 3 + 12 * strength
    return cv2.fastNlMeansDenoisingColored(pixels, None, h, h * (1.5 if settings.colorNoise else 0.5), 7, 21)


def _chroma_smoothed(pixels: np.ndarray, strength: float) -> np.ndarray:
    lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)
    sigma = 1 + 2 * strength
    for band in (1, 2):
        lab[:, :, band] = cv2.GaussianBlur(lab[:, :, band], (0, 0), sigma)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _with_edges(original: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """The original back where the (smoothed) picture has strong edges, so they stay crisp."""
    grey = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY).astype(np.float32)
    edges = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    keep = np.clip(edges / 200, 0, 0.6)[:, :, None]
    return (original * keep + smooth * (1 - keep)).round().astype(np.uint8)


def noise_removal(items: Sequence[Item], settings: NoiseRemovalSettings, bench: Workbench) -> Picture:
    picture = _one_frame(items[0])
    _, alpha = split_alpha(picture.image)
    original = rgb_array(picture.image)
    clean = _denoised(original, settings)
    if settings.colorNoise and settings.quality is not DenoiseQuality.BEST:
        clean = _chroma_smoothed(clean, settings.strength / 100)
    if settings.preserveDetail:
        clean = _with_edges(original, clean)
    return picture.with_image(joined(from_array(clean), alpha))


NOISE_REMOVAL = Operation(settings=NoiseRemovalSettings, takes=Takes.ONE, gives=Gives.FILE, apply=noise_removal)


# -- red-eye-removal -----------------------------------------------------------------------------


class RedEyeSettings(Settings):
    sensitivity: float = Field(default=0.5, ge=0, le=1, description="Higher finds more faces and paler red.")
    strength: int = Field(default=80, ge=0, le=100, description="How much of the red is taken out.")


EYE_BAND = (0.15, 0.6)  # the eyes lie in this vertical part of a face box


def red_eye_removal(items: Sequence[Item], settings: RedEyeSettings, bench: Workbench) -> Picture:
    picture = _one_frame(items[0])
    _, alpha = split_alpha(picture.image)
    pixels = rgb_array(picture.image).copy()
    floor = 70 - 40 * settings.sensitivity  # how much redder than green and blue a pixel must be
    for face in find_faces(picture, settings.sensitivity):
        top, bottom = face.y + round(face.h * EYE_BAND[0]), face.y + round(face.h * EYE_BAND[1])
        band = pixels[top:bottom, face.x:face.x + face.w].astype(np.int16)
        red, green, blue = band[:, :, 0], band[:, :, 1], band[:, :, 2]
        redness = red - np.maximum(green, blue)
        eye = (red > 80) & (redness > floor) & (red > 1.5 * (green + blue) / 2)
        mask = cv2.GaussianBlur(cv2.dilate(eye.astype(np.uint8) * 255, np.ones((3, 3), np.uint8)), (0, 0), 1) / 255
        target = (green + blue) / 2  # a dark pupil of the eye's own brightness
        red[:] = np.round(red - (red - target) * mask * settings.strength / 100).astype(np.int16)
        pixels[top:bottom, face.x:face.x + face.w] = band.clip(0, 255).astype(np.uint8)
    return picture.with_image(joined(from_array(pixels), alpha))


RED_EYE_REMOVAL = Operation(settings=RedEyeSettings, takes=Takes.ONE, gives=Gives.FILE, apply=red_eye_removal)


# -- ocr -----------------------------------------------------------------------------------------


class OcrQuality(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    BEST = "best"


class OcrLanguage(StrEnum):
    """What the shipped multilingual model reads (all at once: the setting is recorded, not a model switch)."""

    AUTO = "auto"
    EN = "en"
    ZH = "zh"
    ZH_HANT = "zh-hant"
    JA = "ja"
    DE = "de"
    FR = "fr"
    ES = "es"
    IT = "it"
    PT = "pt"
    NL = "nl"
    PL = "pl"
    SV = "sv"
    TR = "tr"
    VI = "vi"


OCR_SIDES = {OcrQuality.FAST: 1024, OcrQuality.BALANCED: 2000, OcrQuality.BEST: 2000}


class OcrSettings(Settings):
    quality: OcrQuality = Field(default=OcrQuality.BALANCED, description="fast reads a smaller copy; best enlarges "
                                "small text and keeps less certain lines.")
    language: OcrLanguage = Field(default=OcrLanguage.AUTO, description="One multilingual model reads all of these.")
    enhance: bool = Field(default=False, description="Grey and stretch the contrast first (faint scans, photos).")


class OcrLine(BaseModel):
    text: str
    score: float = Field(description="Recognition confidence, 0-1.")
    box: list[int] = Field(description="x, y, width, height in the image's pixels.")


class OcrResult(BaseModel):
    text: str = Field(description="Every line, in reading order, one per line.")
    lines: list[OcrLine]
    language: str
    width: int
    height: int


def ocr(items: Sequence[Item], settings: OcrSettings, bench: Workbench) -> OcrResult:
    picture = items[0]
    assert isinstance(picture, Picture)
    image = picture.image.crop(0, 0, picture.image.width, frame_height(picture.image))
    width, height = image.width, image.height
    longest = max(width, height)
    scale = min(1.0, OCR_SIDES[settings.quality] / longest)
    if settings.quality is OcrQuality.BEST and longest < 1000:
        scale = min(3.0, 1000 / longest)  # small text reads better larger
    if scale != 1.0:
        image = image.resize(scale)
    if settings.enhance:
        grey = split_alpha(image)[0].colourspace("b-w")
        image = grey.bandjoin([grey, grey]).copy(interpretation="srgb")
        low, high = np.percentile(rgb_array(image)[:, :, 0], [1, 99])
        image = _levels(image, float(low), float(high), 1.0)
    found = text_reader.read_lines(rgb_array(image), min_score=0.3 if settings.quality is OcrQuality.BEST else 0.5)
    lines = []
    for line in found:
        xs, ys = [x / scale for x, _ in line.corners], [y / scale for _, y in line.corners]
        left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
        box = [left, top, min(width, math.ceil(max(xs))) - left, min(height, math.ceil(max(ys))) - top]
        lines.append(OcrLine(text=line.text, score=round(line.score, 4), box=box))
    return OcrResult(text="\n".join(line.text for line in lines), lines=lines, language=settings.language.value,
                     width=width, height=height)


OCR = Operation(settings=OcrSettings, takes=Takes.ONE, gives=Gives.JSON, apply=ocr)
