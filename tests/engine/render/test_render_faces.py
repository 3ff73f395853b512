"""gravity=face: stored faces first, else the offline model, else attention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import pyvips
from skimage import data

from engine.faces import FaceBox, detect_faces
from engine.render.context import RenderContext
from engine.render.settings import RenderSettings
from tests.engine.render.conftest import decode
from tests.factories import image_bytes

Render = Callable[..., RenderContext]


@pytest.fixture(scope="module")
def wide_portrait() -> bytes:
    """The astronaut photo on the right of a 1536 x 512 canvas of smooth gradient: one face, far off-centre."""
    photo = pyvips.Image.new_from_array(data.astronaut()).copy(interpretation="srgb")
    left = pyvips.Image.new_from_buffer(image_bytes(1024, 512, "png"), "")
    return left.join(photo, "horizontal").pngsave_buffer()


def _faces_in(ctx: RenderContext) -> list[FaceBox]:
    image = decode(ctx.data).extract_band(0, n=3)
    return detect_faces(np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 3)))


def test_the_detected_face_stays_inside_the_crop(render_file: Render, wide_portrait: bytes) -> None:
    ctx = render_file(wide_portrait, "png", w=400, h=400, gravity="face")
    assert ctx.faces_found == 1 and ctx.focus is not None and ctx.focus[0] > 0.7
    faces = _faces_in(ctx)
    assert faces, "the crop shows the face"
    face = faces[0]
    assert face.x > 0 and face.y > 0 and face.x + face.w < 400 and face.y + face.h < 400
    centre = render_file(wide_portrait, "png", w=400, h=400, gravity="center")
    assert not _faces_in(centre), "a centre crop of this canvas has no face: the test can tell them apart"


def test_faces_stored_by_the_analysis_are_used_without_detection(render_file: Render, wide_portrait: bytes) -> None:
    # A stored box on the far left: the crop follows it (the model would have chosen the right).
    stored = [FaceBox(x=40, y=200, w=60, h=60, score=0.9)]
    ctx = render_file(wide_portrait, "png", w=400, h=400, gravity="face", faces=stored)
    assert ctx.faces_found == 1 and ctx.focus is not None and ctx.focus[0] < 0.1
    assert not _faces_in(ctx)


def test_no_face_falls_back_to_attention(render_file: Render) -> None:
    plain = image_bytes(800, 400, "png")
    face = render_file(plain, "png", w=200, h=200, gravity="face")
    attention = render_file(plain, "png", w=200, h=200, gravity="attention")
    assert face.faces_found == 0 and face.data == attention.data
    none_stored = render_file(plain, "png", w=200, h=200, gravity="face", faces=[])
    assert none_stored.data == attention.data


def test_detection_can_be_turned_off(render_file: Render, wide_portrait: Any) -> None:
    ctx = render_file(wide_portrait, "png", w=400, h=400, gravity="face", settings=RenderSettings(face_detection=False))
    assert ctx.faces_found == 0 and ctx.focus is None


def test_detect_faces_finds_the_astronauts_face_in_source_pixels() -> None:
    faces = detect_faces(data.astronaut())
    assert len(faces) == 1
    face = faces[0]
    # the face sits around x 170-280, y 80-180 of the 512 x 512 photo
    assert 140 < face.x < 200 and 60 < face.y < 110 and 70 < face.w < 140 and 70 < face.h < 140 and face.score > 0.4


def test_detect_faces_finds_none_in_a_gradient() -> None:
    gradient = pyvips.Image.new_from_buffer(image_bytes(400, 300, "png"), "")
    pixels = np.ndarray(buffer=gradient.write_to_memory(), dtype=np.uint8, shape=(300, 400, 3))
    assert detect_faces(pixels) == []
