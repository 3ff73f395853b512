"""Shrink an encoded image until it fits the caps: long side first, then quality, then scale again."""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from engine.errors import UnsupportedMediaType
from engine.previews.settings import PreviewFormat, PreviewSettings

MIN_QUALITY = 40
SCALE_STEP = 0.75  # each further shrink keeps 3/4 of the side (about half the pixels)
MIME = {PreviewFormat.WEBP: "image/webp", PreviewFormat.JPEG: "image/jpeg"}


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime_type: str
    width: int
    height: int


def _encode(image: pyvips.Image, fmt: PreviewFormat, quality: int) -> bytes:
    if fmt is PreviewFormat.JPEG:
        if image.hasalpha():
            image = image.flatten(background=[255, 255, 255])
        return image.jpegsave_buffer(Q=quality, keep="none", optimize_coding=True)
    return image.webpsave_buffer(Q=quality, keep="none")


def _load(data: bytes, max_side: int) -> pyvips.Image:
    try:
        image = pyvips.Image.thumbnail_buffer(data, max_side, height=max_side, size="down")
    except pyvips.Error as error:
        message = "The preview source is not a decodable image."
        raise UnsupportedMediaType(message, code="preview_unavailable") from error
    if image.interpretation not in ("srgb", "b-w"):
        image = image.colourspace("srgb")
    # Decoded once into memory: the loop below encodes several times, and a sequential loader reads once.
    return image.copy_memory()


def fit_for_model(data: bytes, caps: PreviewSettings) -> Preview:
    """An image within ``caps.max_side`` and ``caps.max_bytes`` (CPU work: call from a worker thread)."""
    image = _load(data, caps.max_side)
    while True:
        quality = caps.quality
        while quality >= MIN_QUALITY:
            encoded = _encode(image, caps.format, quality)
            if len(encoded) <= caps.max_bytes:
                return Preview(encoded, MIME[caps.format], image.width, image.height)
            quality -= 15
        if max(image.width, image.height) <= 16:
            raise UnsupportedMediaType("No preview fits the byte cap.", code="preview_unavailable")
        image = image.resize(SCALE_STEP)
