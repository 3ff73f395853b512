"""content-aware-resize: seam carving (Avidan and Shamir) in numpy.

The picture is first scaled evenly until it covers the asked size (the render's ``outside`` fit), so only
the surplus along one side is carved; that surplus is bounded (``MAX_SEAMS``, half the side) and any more
is taken by an even resize, so a call stays within a few seconds at the largest allowed size.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from pydantic import Field, model_validator

from engine.imaging.adjustments import frame_height
from engine.imaging.chain import render_on
from engine.imaging.essentials import Settings, size_of
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Wants, Workbench
from engine.imaging.vision import find_faces, from_array
from engine.render.params import Fit, RenderParams

MAX_SIDE = 1024
MAX_SEAMS = 256
BATCH_SHARE = 32  # at most width / 32 seams are taken per pass
PROTECTED = 1e6  # energy of a face pixel: no cheaper seam ever crosses a face while another exists


class ContentAwareSettings(Settings):
    width: int | None = Field(default=None, ge=8, le=MAX_SIDE, description="Output width (default: the image's, at most 1024).")
    height: int | None = Field(default=None, ge=8, le=MAX_SIDE, description="Output height (default: the image's, at most 1024).")
    square: bool = Field(default=False, description="Make it square: the side given, else the shorter side.")
    protectFaces: bool = Field(default=True, description="Seams go around detected faces.")
    blurRadius: float = Field(default=0, ge=0, le=20, description="Blur before measuring detail (ignores fine texture).")
    sobelThreshold: int = Field(default=0, ge=0, le=255, description="Edges weaker than this count as flat.")

    @model_validator(mode="after")
    def _a_size(self) -> ContentAwareSettings:
        if self.width is None and self.height is None and not self.square:
            raise ValueError("give width, height or both, or square")
        return self


def _energy(grey: np.ndarray, protect: np.ndarray, threshold: int) -> np.ndarray:
    dx = np.abs(np.diff(grey, axis=1, append=grey[:, -1:]))
    dy = np.abs(np.diff(grey, axis=0, append=grey[-1:, :]))
    detail = dx + dy
    if threshold:
        detail[detail < threshold] = 0
    return detail + protect


def _cost(energy: np.ndarray) -> np.ndarray:
    """Cumulative least energy of a connected path from the top row to each pixel."""
    height, width = energy.shape
    cost = energy.copy()
    padded = np.full(width + 2, np.inf, dtype=np.float32)
    for row in range(1, height):
        padded[1:-1] = cost[row - 1]
        cost[row] += np.minimum(np.minimum(padded[:-2], padded[1:-1]), padded[2:])
    return cost


def _seams(cost: np.ndarray, most: int) -> np.ndarray:
    """Up to ``most`` cheap connected seams that never share a pixel, traced upwards together (rows x seams).
    Cheaper seams choose first; a seam whose best step is taken takes its next best, or is dropped."""
    height, width = cost.shape
    paths = np.empty((height, most), dtype=np.intp)
    paths[-1] = np.argsort(cost[-1], kind="stable")[:most]
    alive = list(range(paths.shape[1]))
    for row in range(height - 2, -1, -1):
        line, below, taken, survivors = cost[row], paths[row + 1], set(), []
        for seam in alive:
            column = int(below[seam])
            for _, step in sorted((line[c], c) for c in (column - 1, column, column + 1) if 0 <= c < width):
                if step not in taken:
                    taken.add(step)
                    paths[row, seam] = step
                    survivors.append(seam)
                    break
        alive = survivors
    return paths[:, alive]


def _without(array: np.ndarray, paths: np.ndarray) -> np.ndarray:
    height, width = array.shape[:2]
    keep = np.ones((height, width), dtype=bool)
    keep[np.arange(height)[:, None], paths] = False
    return array[keep].reshape(height, width - paths.shape[1], *array.shape[2:])


def carve_columns(pixels: np.ndarray, protect: np.ndarray, count: int, *, blur: float = 0, threshold: int = 0) -> np.ndarray:
    """Remove ``count`` vertical seams, several disjoint ones per pass (a pass costs one energy map and
    one cumulative-cost sweep; a small share of the width per pass keeps the choice close to one by one)."""
    grey = pixels[:, :, :3].mean(axis=2, dtype=np.float32)
    if blur:
        grey = cv2.GaussianBlur(grey, (0, 0), blur)
    while count > 0:
        batch = min(count, max(1, pixels.shape[1] // BATCH_SHARE))
        paths = _seams(_cost(_energy(grey, protect, threshold)), batch)
        pixels, grey, protect = _without(pixels, paths), _without(grey, paths), _without(protect, paths)
        count -= paths.shape[1]
    return pixels


def _face_map(picture: Picture, shape: tuple[int, int]) -> np.ndarray:
    protect = np.zeros(shape, dtype=np.float32)
    for face in find_faces(picture):
        grow_x, grow_y = face.w // 10, face.h // 10
        protect[max(0, face.y - grow_y):face.y + face.h + grow_y, max(0, face.x - grow_x):face.x + face.w + grow_x] = PROTECTED
    return protect


def _target(settings: ContentAwareSettings, src_w: int, src_h: int) -> tuple[int, int]:
    """The output size; a side not given keeps the image's, within the bound."""
    if settings.square:
        side = settings.width or settings.height or min(src_w, src_h, MAX_SIDE)
        return side, side
    return settings.width or min(src_w, MAX_SIDE), settings.height or min(src_h, MAX_SIDE)


def content_aware_resize(items: Sequence[Item], settings: ContentAwareSettings, bench: Workbench) -> Picture:
    item = items[0]
    src_w, src_h = size_of(item, bench)
    if isinstance(item, Picture):
        src_h = frame_height(item.image)
    target_w, target_h = _target(settings, src_w, src_h)
    covering = render_on(item, RenderParams(w=target_w, h=target_h, fit=Fit.OUTSIDE), bench)
    image = covering.image.crop(0, 0, covering.image.width, frame_height(covering.image))
    vertical = image.width > target_w  # surplus columns; else surplus rows (or none)
    surplus = (image.width - target_w) if vertical else (image.height - target_h)
    allowed = min(MAX_SEAMS, (image.width if vertical else image.height) // 2)
    if surplus > allowed:  # the rest is taken evenly
        squeeze = RenderParams(w=target_w + allowed, h=image.height, fit=Fit.FILL) if vertical else \
            RenderParams(w=image.width, h=target_h + allowed, fit=Fit.FILL)
        covering = render_on(covering.with_image(image), squeeze, bench)
        image, surplus = covering.image, allowed
    if surplus <= 0:
        return covering.with_image(image)
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))
    protect = _face_map(covering.with_image(image), pixels.shape[:2]) if settings.protectFaces else \
        np.zeros(pixels.shape[:2], dtype=np.float32)
    if not vertical:
        pixels, protect = pixels.transpose(1, 0, 2), protect.T
    carved = carve_columns(np.ascontiguousarray(pixels), np.ascontiguousarray(protect), surplus,
                           blur=settings.blurRadius, threshold=settings.sobelThreshold)
    if not vertical:
        carved = carved.transpose(1, 0, 2)
    return covering.with_image(from_array(carved))


CONTENT_AWARE_RESIZE = Operation(settings=ContentAwareSettings, takes=Takes.ONE, gives=Gives.FILE,
                                 apply=content_aware_resize, wants=Wants.ANY)
