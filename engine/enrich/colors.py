"""Dominant colours (k-means on a small copy) and a 64-bit perceptual hash (DCT of a 32x32 grey copy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvips

# Named anchors let captions and search say "red" rather than "#c81e1e".
NAMED = {
    "black": (20, 20, 20), "white": (240, 240, 240), "gray": (128, 128, 128), "red": (200, 30, 30),
    "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 160, 60), "blue": (40, 80, 200),
    "purple": (130, 50, 160), "pink": (240, 150, 190), "brown": (120, 80, 40), "teal": (20, 140, 140),
}


def _small(image: np.ndarray, side: int) -> np.ndarray:
    vips = pyvips.Image.new_from_array(image).copy(interpretation="srgb")
    scaled = vips.thumbnail_image(side, height=side, size="force")
    return np.ndarray(buffer=scaled.write_to_memory(), dtype=np.uint8, shape=[scaled.height, scaled.width, scaled.bands])


def _kmeans(pixels: np.ndarray, k: int, rounds: int = 12) -> tuple[np.ndarray, np.ndarray]:
    # Deterministic start: evenly spaced pixels after sorting by brightness.
    order = np.argsort(pixels.sum(axis=1))
    centers = pixels[order[np.linspace(0, len(pixels) - 1, k).astype(int)]].astype(np.float64)
    for _ in range(rounds):
        labels = np.argmin(((pixels[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
        for index in range(k):
            members = pixels[labels == index]
            if len(members):
                centers[index] = members.mean(axis=0)
    return centers, np.bincount(labels, minlength=k) / len(pixels)


def color_name(rgb: np.ndarray) -> str:
    return min(NAMED, key=lambda name: float(((np.array(NAMED[name]) - rgb) ** 2).sum()))


def perceptual_hash(image: np.ndarray) -> str:
    grey = _small(image, 32)[:, :, :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    n = 32
    basis = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * np.arange(n)[:, None] / (2 * n))
    low = (basis @ grey @ basis.T)[:8, :8].flatten()[1:]  # the DC term says nothing about structure
    bits = np.concatenate([[0], (low > np.median(low)).astype(int)])
    return f"{int(''.join(map(str, bits)), 2):016x}"


def describe_colors(image: np.ndarray, k: int = 5) -> dict[str, Any]:
    """Entry point: ``{"colors": [{"hex", "name", "fraction"}...], "phash": "<16 hex digits>"}``."""
    pixels = _small(image, 64)[:, :, :3].reshape(-1, 3).astype(np.float64)
    centers, shares = _kmeans(pixels, k)
    ranked = sorted(zip(centers, shares, strict=True), key=lambda pair: -pair[1])
    colors = [
        {"hex": "#" + "".join(f"{int(round(c)):02x}" for c in center), "name": color_name(center), "fraction": round(float(share), 3)}
        for center, share in ranked if share > 0
    ]
    return {"colors": colors, "phash": perceptual_hash(image)}
