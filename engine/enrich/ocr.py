"""OCR with rapidocr (PP-OCR ONNX models shipped in the package)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

_lock = threading.Lock()
_engine: Any = None


def _load() -> Any:
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr import RapidOCR

            _engine = RapidOCR()
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return _engine


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
