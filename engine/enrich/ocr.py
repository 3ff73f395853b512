"""OCR with rapidocr (PP-OCR ONNX models shipped in the package)."""

from __future__ import annotations

import logging
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
