"""The models one process holds: each loaded on first use, once, and shared by enrichment and search."""

from __future__ import annotations

import threading

import numpy as np

from engine.enrich import text_embedding
from engine.enrich.clip import ClipModel, load_clip
from engine.enrich.settings import ClipSettings


class ModelStore:
    def __init__(self, clip_settings: ClipSettings):
        self.clip_settings = clip_settings
        self._clip: ClipModel | None = None
        self._clip_checked = False
        self._lock = threading.Lock()

    def clip(self) -> ClipModel | None:
        """The CLIP model, or None when no weights are available (checked once per process)."""
        with self._lock:
            if not self._clip_checked:
                self._clip = load_clip(self.clip_settings)
                self._clip_checked = True
        return self._clip

    def clip_if_loaded(self) -> ClipModel | None:
        return self._clip

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return text_embedding.embed_texts(texts)
