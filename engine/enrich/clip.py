"""Image-text embeddings with open_clip, and zero-shot tags against a shipped vocabulary.

Weights come from, in order: a checkpoint path from settings, the Hugging Face cache (the pretrained
tag's hub repo), or a download on first use when the deployment allows it. With none of those the
model is simply absent: callers report ``skipped: no CLIP weights`` and search runs on the text path.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from engine.enrich.settings import ClipSettings
from engine.enrich.torch_runtime import import_open_clip

log = logging.getLogger("picsha.enrich.clip")

WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
PROMPT = "a photo of a {}."


def cached_weights(settings: ClipSettings) -> str | None:
    """A local weights file for the configured model, without touching the network."""
    if settings.checkpoint is not None:
        return str(settings.checkpoint) if settings.checkpoint.is_file() else None
    open_clip = import_open_clip()
    config = open_clip.get_pretrained_cfg(settings.model, settings.pretrained) or {}
    repo = (config.get("hf_hub") or "").strip("/")
    if not repo:
        return None
    from huggingface_hub import try_to_load_from_cache

    for filename in WEIGHT_FILES:
        found = try_to_load_from_cache(repo, filename, cache_dir=settings.cache_dir)
        if isinstance(found, str):
            return found
    return None


class ClipModel:
    def __init__(self, model: Any, preprocess: Any, tokenizer: Any, name: str):
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.name = name
        self._labels: tuple[list[str], np.ndarray] | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self.embed_texts(["x"]).shape[1])

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        import torch
        from PIL import Image

        batch = torch.stack([self.preprocess(Image.fromarray(image)) for image in images])
        with torch.inference_mode():
            features = self.model.encode_image(batch)
        return _normalize(features.float().numpy())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            features = self.model.encode_text(self.tokenizer(texts))
        return _normalize(features.float().numpy())

    def _label_vectors(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._labels is None:
                from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

                labels = list(IMAGENET_CLASSNAMES)
                vectors = np.concatenate([
                    self.embed_texts([PROMPT.format(label) for label in labels[start : start + 250]])
                    for start in range(0, len(labels), 250)
                ])
                self._labels = (labels, vectors)
        return self._labels

    def zero_shot_tags(self, image_vector: np.ndarray, top_k: int, min_probability: float) -> list[str]:
        """Labels whose softmax probability (CLIP's 100x logit scale) passes ``min_probability``."""
        labels, vectors = self._label_vectors()
        logits = 100.0 * (vectors @ image_vector)
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        best = np.argsort(-probabilities)[:top_k]
        return [labels[i] for i in best if probabilities[i] >= min_probability]


def _normalize(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def load_clip(settings: ClipSettings) -> ClipModel | None:
    """Entry point: the model, or None when no weights are available here."""
    weights = cached_weights(settings)
    if weights is None and not settings.allow_download:
        return None
    open_clip = import_open_clip()
    cache_dir = str(settings.cache_dir) if settings.cache_dir else None
    model, _, preprocess = open_clip.create_model_and_transforms(
        settings.model, pretrained=weights or settings.pretrained, cache_dir=cache_dir
    )
    log.info("loaded CLIP %s (%s)", settings.model, weights or settings.pretrained)
    return ClipModel(model, preprocess, open_clip.get_tokenizer(settings.model), settings.model)
