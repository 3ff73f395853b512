"""restore-photo: scratch removal (LaMa), denoising, face restoration and colorization, in that order.

Each model step runs when its model is configured; asked for explicitly without it, the call is a 503
naming the setting; left to ``auto`` (the default), it is skipped and the progress says which setting
would enable it. Denoising needs no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from pydantic import Field

from engine.imaging import inference
from engine.imaging.essentials import Settings
from engine.imaging.generative import (
    FaceModel, arrays_of, denoised, enhance_faces_in, first_set, model_session, with_arrays,
)
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.models import setting_name
from engine.imaging.operation import Operation, Workbench


class RestoreMode(StrEnum):
    AUTO = "auto"
    LIGHT = "light"
    HEAVY = "heavy"


@dataclass(frozen=True)
class Strengths:
    denoise: float
    scratch_contrast: int  # how far (grey levels) a thin mark must stand out from its surroundings
    face: float


STRENGTHS = {
    RestoreMode.LIGHT: Strengths(denoise=0.25, scratch_contrast=48, face=0.6),
    RestoreMode.HEAVY: Strengths(denoise=0.7, scratch_contrast=28, face=1.0),
}
NOISY_SIGMA = 6.0  # auto: a photo whose estimated noise is above this is restored heavily
SCRATCH_MIN_LENGTH = 12  # pixels: shorter marks are texture or noise, not scratches
GREY_SPREAD = 3.0  # mean channel spread under which a photo counts as black and white


class RestorePhotoSettings(Settings):
    mode: RestoreMode = Field(default=RestoreMode.AUTO, description="light, heavy, or auto (from the photo's noise).")
    scratchRemoval: bool | None = Field(default=None, description="Fill scratches (LaMa); default: when set up.")
    faceEnhancement: bool | None = Field(default=None,
                                         description="Restore faces (GFPGAN/CodeFormer); default: when set up.")
    fidelity: float = Field(default=0.5, ge=0, le=1, description="CodeFormer: 0 = most restored, 1 = closest to the photo.")
    denoise: bool = Field(default=True, description="Remove grain and noise.")
    denoiseStrength: float | None = Field(default=None, ge=0, le=1, description="0-1; default: by mode.")
    colorize: bool | None = Field(default=None,
                                  description="Add colour (DDColor); default: black-and-white photos, when set up.")

    def required_models(self, configured: dict[str, str]) -> tuple[str, ...]:
        """The models of the steps asked for explicitly (steps left to default are skipped without one)."""
        wanted = [("lama", self.scratchRemoval), (first_set(FaceModel, configured).value, self.faceEnhancement),
                  ("ddcolor", self.colorize)]
        return tuple(key for key, asked in wanted if asked)


def noise_sigma(rgb: np.ndarray) -> float:
    """Immerkaer's fast estimate of Gaussian noise (grey levels) from a Laplacian-difference kernel."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    height, width = grey.shape
    if height < 3 or width < 3:
        return 0.0
    total = float(np.abs(cv2.filter2D(grey, -1, kernel)[1:-1, 1:-1]).sum())
    return total * float(np.sqrt(np.pi / 2)) / (6.0 * (width - 2) * (height - 2))


def scratch_mask(rgb: np.ndarray, contrast: int) -> np.ndarray:
    """Thin marks (up to 2 pixels wide, at least ``SCRATCH_MIN_LENGTH`` long) standing out from a median
    of their surroundings by more than ``contrast`` grey levels."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    marks = (cv2.absdiff(grey, cv2.medianBlur(grey, 5)) > contrast).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
    longest = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = longest >= SCRATCH_MIN_LENGTH
    keep[0] = False  # the background component
    return cv2.dilate(keep[labels].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _is_grey(rgb: np.ndarray) -> bool:
    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA).astype(np.int16)
    return float((small.max(axis=2) - small.min(axis=2)).mean()) < GREY_SPREAD


def restore_photo(items: Sequence[Item], settings: RestorePhotoSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    rgb, alpha = arrays_of(picture)
    mode = settings.mode
    if mode is RestoreMode.AUTO:
        mode = RestoreMode.HEAVY if noise_sigma(rgb) > NOISY_SIGMA else RestoreMode.LIGHT
    strengths = STRENGTHS[mode]
    face_model = first_set(FaceModel, bench.models)  # CodeFormer (where fidelity applies) when GFPGAN is not set

    def wanted(key: str, asked: bool | None, step: str, fraction: float) -> bool:
        if asked is False:
            return False
        if key not in bench.models:  # asked explicitly was refused before the run: this is the default
            bench.progress(fraction, f"{step} skipped: set {setting_name(key)} to enable it")
            return False
        return True

    if wanted("lama", settings.scratchRemoval, "scratch removal", 0.0):
        mask = scratch_mask(rgb, strengths.scratch_contrast)
        if mask.any():
            rgb = inference.inpaint(model_session("lama", bench), rgb, mask)
        bench.progress(0.25, f"scratch removal: {int(mask.sum())} pixels filled")
    if settings.denoise:
        rgb = denoised(rgb, settings.denoiseStrength if settings.denoiseStrength is not None else strengths.denoise)
        bench.progress(0.5, "denoised")
    if wanted(face_model.value, settings.faceEnhancement, "face enhancement", 0.5):
        rgb, count = enhance_faces_in(rgb, model_session(face_model.value, bench), strength=strengths.face,
                                      sensitivity=0.6, center=False, fidelity=settings.fidelity)
        bench.progress(0.75, f"{count} face(s) enhanced")
    colour = settings.colorize if settings.colorize is not None else _is_grey(rgb)  # by default, grey photos only
    if colour and wanted("ddcolor", settings.colorize, "colorization", 0.75):
        rgb = inference.colorize(model_session("ddcolor", bench), rgb, intensity=1.0)
    bench.progress(1.0, f"restored ({mode.value})")
    return with_arrays(picture, rgb, alpha)


RESTORE_PHOTO = Operation(settings=RestorePhotoSettings, takes=Takes.ONE, gives=Gives.FILE, apply=restore_photo)
