"""Analyzers see the picture upright, as render shows it, whatever EXIF orientation the file carries."""

from pathlib import Path

import numpy as np
import pyvips

from engine.enrich.source import load_image


def _red_left_half_jpeg(path: Path, orientation: int) -> None:
    """Stored 400×200 with the left half red; orientation 6 means 'rotate 90° clockwise to view'."""
    pixels = np.zeros((200, 400, 3), dtype=np.uint8)
    pixels[:, :200] = (255, 0, 0)
    pixels[:, 200:] = (0, 0, 255)
    image = pyvips.Image.new_from_array(pixels).copy(interpretation="srgb")
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    image.jpegsave(str(path), Q=95)


def test_orientation_is_applied_before_analysis(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    _red_left_half_jpeg(path, orientation=6)

    pixels, scale = load_image(path, "jpeg", max_side=100)

    assert pixels.shape == (100, 50, 3)  # upright: tall, not wide
    top, bottom = pixels[10, 25], pixels[90, 25]
    assert top[0] > 200 and top[2] < 60  # the stored left half is on top once turned clockwise
    assert bottom[2] > 200 and bottom[0] < 60
    assert scale == 4.0


def test_unrotated_image_keeps_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "plain.jpg"
    _red_left_half_jpeg(path, orientation=1)

    pixels, scale = load_image(path, "jpeg", max_side=800)

    assert pixels.shape == (200, 400, 3)
    assert scale == 1.0
