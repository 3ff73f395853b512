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
