"""Faces and explicit-content regions from one NudeNet pass -> ``ai.faces`` and region labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.faces import detect_regions
from engine.faces.detector import FACE_CLASSES

EXPLICIT = {
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
}


def find_regions(image: np.ndarray, *, face_threshold: float, region_threshold: float) -> dict[str, Any]:
    """Entry point: ``{"faces": {"count", "boxes"}, "regions": [{"label", "score"}], "explicit": [labels]}``."""
    regions = detect_regions(image, min_score=min(face_threshold, region_threshold))
    faces = [r for r in regions if r.label in FACE_CLASSES and r.score >= face_threshold]
    others = [r for r in regions if r.label not in FACE_CLASSES and r.score >= region_threshold]
    return {
        "faces": {"count": len(faces), "boxes": [f.model_dump(include={"x", "y", "w", "h", "score"}) for f in faces]},
        "regions": [{"label": r.label.lower(), "score": r.score} for r in others],
        "explicit": sorted({r.label.lower() for r in others if r.label in EXPLICIT}),
    }
