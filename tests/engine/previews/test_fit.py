"""``fit_for_model``: long side first, then quality, then smaller again, until the bytes fit."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from engine.previews import fit_for_model
from engine.previews.settings import PreviewFormat, PreviewSettings
from tests.factories import image_bytes


def noisy_png(width: int, height: int) -> bytes:
    """Random pixels: the worst case for an encoder, so the byte cap is what has to give."""
    import pyvips

    noise = pyvips.Image.gaussnoise(width, height, mean=128, sigma=90).cast("uchar")
    return noise.bandjoin([noise.rot180(), noise.fliphor()]).copy(interpretation="srgb").pngsave_buffer(compression=1)


@pytest.mark.parametrize("fmt", list(PreviewFormat))
def test_fit_shrinks_until_the_bytes_fit(fmt: PreviewFormat) -> None:
    caps = PreviewSettings(max_side=1568, max_bytes=60_000, format=fmt)
    preview = fit_for_model(noisy_png(2400, 1600), caps)
    shown = Image.open(io.BytesIO(preview.data))
    assert len(preview.data) <= 60_000 and shown.size == (preview.width, preview.height)
    assert max(shown.size) < 1568  # noise at q=40 does not fit 60 KB at 1568 px: the size gave way
    assert preview.mime_type == f"image/{fmt.value}"


def test_fit_keeps_small_images_small() -> None:
    preview = fit_for_model(image_bytes(300, 200, "png"), PreviewSettings())
    assert (preview.width, preview.height) == (300, 200)
