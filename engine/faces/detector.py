"""Faces and body regions with NudeNet (a YOLO ONNX model shipped in the ``nudenet`` package).

One model pass finds faces and explicit-content regions alike, so enrichment (``ai.faces``, safe search)
and render (gravity=face) share this detector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from engine.load_once import load_once

FACE_CLASSES = {"FACE_FEMALE", "FACE_MALE"}



class FaceBox(BaseModel):
    """A box in the pixels of the image that was given (x, y = top-left corner)."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    w: int = Field(ge=0)
    h: int = Field(ge=0)
    score: float = Field(ge=0, le=1)


class Region(FaceBox):
    label: str


@load_once
def _load() -> Any:
    from nudenet import NudeDetector

    return NudeDetector()


def _as_input(image: Path | str | np.ndarray) -> str | np.ndarray:
    if isinstance(image, np.ndarray):
        return np.ascontiguousarray(image[:, :, ::-1])  # RGB in, NudeNet expects OpenCV's BGR
    return str(image)


def detect_regions(image: Path | str | np.ndarray, min_score: float = 0.25) -> list[Region]:
    """Every labelled region (faces, covered and exposed body parts) above ``min_score``."""
    found = _load().detect(_as_input(image))
    regions = []
    for item in found:
        x, y, w, h = (max(0, int(v)) for v in item["box"])
        if item["score"] >= min_score:
            regions.append(Region(x=x, y=y, w=w, h=h, score=round(float(item["score"]), 4), label=item["class"]))
    return sorted(regions, key=lambda region: -region.score)


def detect_faces(image: Path | str | np.ndarray, min_score: float = 0.4) -> list[FaceBox]:
    """Faces, best first. ``image`` is a file path or an RGB array."""
    return [
        FaceBox(**region.model_dump(exclude={"label"}))
        for region in detect_regions(image, min_score) if region.label in FACE_CLASSES
    ]


def detect_faces_tiled(pixels: np.ndarray, min_score: float = 0.4) -> list[FaceBox]:
    """Faces in an RGB array of any shape, best first: the model sees a fixed 320 px square, so a wide
    image seen whole would shrink its faces below what it can find; it looks at square tiles instead."""
    height, width = pixels.shape[:2]
    found: list[FaceBox] = []
    for x, y, side in _tiles(width, height):
        found += [face.model_copy(update={"x": face.x + x, "y": face.y + y})
                  for face in detect_faces(pixels[y : y + side, x : x + side], min_score)]
    kept: list[FaceBox] = []
    for face in sorted(found, key=lambda box: -box.score):  # the same face seen from two overlapping tiles
        if all(_overlap(face, other) < 0.5 for other in kept):
            kept.append(face)
    return kept


def _overlap(a: FaceBox, b: FaceBox) -> float:
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(min(a.w * a.h, b.w * b.h), 1e-9)


def _tiles(width: int, height: int, most: int = 5) -> list[tuple[int, int, int]]:
    """Square windows along the long side, overlapping by half, at most ``most`` of them."""
    side, length = min(width, height), max(width, height)
    count = min(most, max(1, 2 * -(-length // side) - 1))
    starts = [round(i * (length - side) / max(count - 1, 1)) for i in range(count)]
    return [(s, 0, side) if width >= height else (0, s, side) for s in starts]
