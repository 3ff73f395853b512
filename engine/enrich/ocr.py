"""OCR with rapidocr (PP-OCR ONNX models shipped in the package).

The shipped PP-OCRv6 small models are multilingual: Chinese (simplified and traditional), English,
Japanese and the Latin-script languages rapidocr lists for them, read in one pass without choosing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.load_once import load_once


@load_once
def _load() -> Any:
    from rapidocr import RapidOCR

    loaded = RapidOCR()
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return loaded


def read_text(pages: list[np.ndarray], min_score: float = 0.5) -> str:
    """Entry point: the text found on each page, lines in reading order, pages separated by blank lines."""
    engine = _load()
    found: list[str] = []
    for page in pages:
        result = engine(np.ascontiguousarray(page[:, :, ::-1]))  # rapidocr reads arrays as BGR
        lines = [text for text, score in zip(result.txts or (), result.scores or (), strict=False) if score >= min_score]
        if lines:
            found.append("\n".join(lines))
    return "\n\n".join(found)


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    corners: list[tuple[float, float]]  # four points, clockwise from top-left, in the page's pixels


def read_lines(page: np.ndarray, min_score: float = 0.5) -> list[TextLine]:
    """Each line found on one RGB page with its box, in reading order (the engine's options are shared
    state, so every caller runs it with the same ones)."""
    result = _load()(np.ascontiguousarray(page[:, :, ::-1]))
    boxes = result.boxes if result.boxes is not None else ()
    return [
        TextLine(text=text, score=float(score), corners=[(float(x), float(y)) for x, y in box])
        for text, score, box in zip(result.txts or (), result.scores or (), boxes, strict=False) if score >= min_score
    ]
