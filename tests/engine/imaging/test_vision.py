"""AI tools on the shipped models, with a real face (scikit-image's astronaut photo) and real text."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips
from pydantic import ValidationError
from skimage import data

from engine.errors import InvalidInput
from engine.faces import FaceBox, detect_faces
from engine.imaging.vision import OcrResult
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.engine.imaging.test_adjustments import solid
from tests.engine.imaging.test_essentials import one
from tests.factories import image_bytes


def as_array(image: pyvips.Image) -> np.ndarray:
    image = image.extract_band(0, n=3)
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 3))


@pytest.fixture(scope="module")
def astronaut() -> pyvips.Image:
    """512 x 512, one face around x 170-280, y 80-180."""
    return pyvips.Image.new_from_array(data.astronaut()).copy(interpretation="srgb")


@pytest.fixture(scope="module")
def face(astronaut: pyvips.Image) -> FaceBox:
    found = detect_faces(as_array(astronaut))
    assert len(found) == 1
    return found[0]


def region_change(before: pyvips.Image, after: pyvips.Image, box: tuple[int, int, int, int]) -> float:
    return (before.crop(*box).cast("float") - after.crop(*box)[:3].cast("float")).abs().avg()


def test_blur_faces_blurs_the_face_only(stage: Stage, run_tool: RunTool, astronaut: pyvips.Image, face: FaceBox) -> None:
    out = decoded(one(run_tool("blur-faces", [stage(astronaut.pngsave_buffer(), "a.png")], {"blurRadius": 15})))
    inner = (face.x + face.w // 4, face.y + face.h // 4, face.w // 2, face.h // 2)
    assert region_change(astronaut, out, inner) > 5
    assert region_change(astronaut, out, (0, 400, 100, 100)) == 0  # far from the face: untouched
    assert not detect_faces(as_array(out)), "the face model no longer finds the blurred face"
    plain = stage(image_bytes(300, 200, "png"), "plain.png")
    same = decoded(one(run_tool("blur-faces", [plain], {})))
    assert region_change(pyvips.Image.new_from_buffer(image_bytes(300, 200, "png"), ""), same, (0, 0, 300, 200)) == 0
    with pytest.raises(ValidationError):
        run_tool("blur-faces", [plain], {"sensitivity": 2})


def test_smart_crop_modes(stage: Stage, run_tool: RunTool, astronaut: pyvips.Image, face: FaceBox) -> None:
    wide = pyvips.Image.new_from_buffer(image_bytes(1024, 512, "png"), "").join(astronaut, "horizontal")
    file = stage(wide.pngsave_buffer(), "wide.png")
    faced = decoded(one(run_tool("smart-crop", [file], {"mode": "face", "width": 300, "height": 300})))
    assert (faced.width, faced.height) == (300, 300) and detect_faces(as_array(faced))
    framed = decoded(one(run_tool("smart-crop", [file], {"mode": "face", "facePreset": "close-up",
                                                         "width": 200, "height": 250})))
    assert (framed.width, framed.height) == (200, 250)
    seen = detect_faces(as_array(framed))
    assert seen and seen[0].h > 250 * 0.35  # close-up: the face fills much of the frame
    loose = decoded(one(run_tool("smart-crop", [file], {"mode": "face", "facePreset": "half-body",
                                                        "width": 200, "height": 250})))
    assert detect_faces(as_array(loose))[0].h < seen[0].h
    subject = decoded(one(run_tool("smart-crop", [file], {"width": 200, "height": 100})))
    assert (subject.width, subject.height) == (200, 100)
    bordered = (pyvips.Image.black(300, 200) + [255, 255, 255]).cast("uchar").copy(interpretation="srgb")
    bordered = bordered.insert(pyvips.Image.new_from_buffer(image_bytes(100, 60, "png"), ""), 120, 70)
    trimmed = decoded(one(run_tool("smart-crop", [stage(bordered.pngsave_buffer(), "b.png")], {"mode": "trim"})))
    assert abs(trimmed.width - 100) <= 2 and abs(trimmed.height - 60) <= 2
    with pytest.raises(InvalidInput):
        run_tool("smart-crop", [file], {"mode": "subject", "width": 100})
    faceless = decoded(one(run_tool("smart-crop", [stage(image_bytes(400, 200, "png"), "p.png")],
                                    {"mode": "face", "facePreset": "close-up"})))
    assert (faceless.width, faceless.height) == (160, 200)  # no face: the most interesting 4:5 region


def test_image_enhancement_corrects_what_is_off(stage: Stage, run_tool: RunTool, astronaut: pyvips.Image) -> None:
    dark = stage((astronaut * 0.25).cast("uchar").pngsave_buffer(), "dark.png")
    brighter = decoded(one(run_tool("image-enhancement", [dark], {"mode": "exposure", "strength": 100})))
    assert brighter.avg() > (astronaut * 0.25).avg() * 1.5
    flat = stage((astronaut * 0.3 + 90).cast("uchar").pngsave_buffer(), "flat.png")
    spread = decoded(one(run_tool("image-enhancement", [flat], {"mode": "contrast", "strength": 100})))
    assert spread.deviate() > (astronaut * 0.3 + 90).cast("uchar").deviate() * 2
    dull_rgb = (astronaut.colourspace("b-w").colourspace("srgb") * 0.8 + astronaut * 0.2).cast("uchar")
    dull = stage(dull_rgb.pngsave_buffer(), "dull.png")
    colourful = decoded(one(run_tool("image-enhancement", [dull], {"mode": "color", "strength": 100})))
    assert colourful.colourspace("lch")[1].avg() > dull_rgb.colourspace("lch")[1].avg() * 1.3
    good = decoded(one(run_tool("image-enhancement", [stage(astronaut.pngsave_buffer(), "good.png")], {})))
    assert abs(good.avg() - astronaut.avg()) < 12  # a well-made photo is left nearly as it was


def test_noise_removal_brings_every_quality_closer_to_the_clean_image(stage: Stage, run_tool: RunTool,
                                                                      astronaut: pyvips.Image) -> None:
    clean = as_array(astronaut.crop(100, 100, 200, 160)).astype(np.int16)
    rng = np.random.default_rng(7)
    noisy = np.clip(clean + rng.normal(0, 18, clean.shape), 0, 255).astype(np.uint8)
    file = stage(pyvips.Image.new_from_array(noisy).copy(interpretation="srgb").pngsave_buffer(), "noisy.png")
    before = np.abs(noisy.astype(np.int16) - clean).mean()
    for quality in ("fast", "balanced", "best"):
        out = as_array(decoded(one(run_tool("noise-removal", [file], {"quality": quality, "strength": 70}))))
        assert out.shape == clean.shape
        assert np.abs(out.astype(np.int16) - clean).mean() < before * 0.8, quality


def test_red_eye_removal_only_inside_the_eyes_band(stage: Stage, run_tool: RunTool, astronaut: pyvips.Image,
                                                   face: FaceBox) -> None:
    painted = astronaut
    eye_y = face.y + round(face.h * 0.38)
    spots = [(face.x + round(face.w * 0.3), eye_y), (face.x + round(face.w * 0.7), eye_y), (60, 460)]
    for x, y in spots:
        painted = painted.draw_circle([230, 20, 25], x, y, 5, fill=True)
    out = decoded(one(run_tool("red-eye-removal", [stage(painted.pngsave_buffer(), "eyes.png")], {"strength": 100})))
    for x, y in spots[:2]:
        red, green, blue = out.getpoint(x, y)[:3]
        assert red - max(green, blue) < 30, (x, y)
    assert out.getpoint(60, 460)[:3] == [230, 20, 25]  # red far from any face stays red


def test_passport_photo_country_size_head_height_and_sheet(stage: Stage, run_tool: RunTool,
                                                           astronaut: pyvips.Image) -> None:
    file = stage(astronaut.jpegsave_buffer(Q=92), "me.jpg")
    us = one(run_tool("passport-photo", [file], {"country": "us"}))
    photo = decoded(us)
    assert us.media_type == "image/jpeg" and (photo.width, photo.height) == (602, 602)  # 51 mm at 300 dpi
    seen = detect_faces(as_array(photo))
    assert len(seen) == 1
    centre_x = seen[0].x + seen[0].w / 2
    assert abs(centre_x - 301) < 40  # centred
    head_mm = seen[0].h * 1.3 / (300 / 25.4)
    assert 25 <= head_mm <= 35  # the rule's chin-to-crown range
    # a 30 mm head (354 px) with 40% of the free height above it: the chin near 453 px from the top
    assert abs(seen[0].y + seen[0].h - 453) < 35
    gb = decoded(one(run_tool("passport-photo", [file], {"country": "gb"})))
    assert (gb.width, gb.height) == (413, 531)  # 35 x 45 mm
    sheet = decoded(one(run_tool("passport-photo", [file], {"country": "gb", "printLayout": "4x6",
                                                            "backgroundColor": "#ffffff"})))
    assert (sheet.width, sheet.height) == (1800, 1200)
    assert len(detect_faces(as_array(sheet.crop(0, 0, 900, 600)))) >= 1
    with pytest.raises(Exception) as none:
        run_tool("passport-photo", [stage(image_bytes(300, 300, "png"), "wall.png")], {})
    assert getattr(none.value, "code", "") == "tool_no_face"
    with pytest.raises(ValidationError):
        run_tool("passport-photo", [file], {"country": "atlantis"})


def test_content_aware_resize_keeps_the_subject_and_drops_the_plain(stage: Stage, run_tool: RunTool) -> None:
    # a red square on the left and a blue one on the right of a plain grey field: seams take the grey
    canvas = (pyvips.Image.black(400, 200) + [128, 128, 128]).cast("uchar").copy(interpretation="srgb")
    canvas = canvas.insert(solid_image(60, 60, (220, 30, 30)), 40, 70).insert(solid_image(60, 60, (30, 30, 220)), 300, 70)
    textured = canvas.insert(pyvips.Image.new_from_buffer(image_bytes(60, 60, "png"), ""), 40, 70)
    out = decoded(one(run_tool("content-aware-resize", [stage(textured.pngsave_buffer(), "field.png")],
                               {"width": 250, "protectFaces": False})))
    assert (out.width, out.height) == (250, 200)
    blues = ((out[2] > 180) & (out[0] < 80)).avg() / 255 * out.width * out.height
    assert blues > 60 * 60 * 0.9  # the right square survives whole: it was not squeezed
    tall = decoded(one(run_tool("content-aware-resize", [stage(textured.pngsave_buffer(), "field.png")],
                                {"width": 400, "height": 150})))
    assert (tall.width, tall.height) == (400, 150)
    square = decoded(one(run_tool("content-aware-resize", [stage(textured.pngsave_buffer(), "field.png")],
                                  {"square": True, "blurRadius": 1.5, "sobelThreshold": 4, "protectFaces": False})))
    assert (square.width, square.height) == (200, 200)
    assert ((square[2] > 180) & (square[0] < 80)).avg() / 255 * 200 * 200 > 60 * 60 * 0.9
    with pytest.raises(ValidationError):
        run_tool("content-aware-resize", [stage(textured.pngsave_buffer(), "f.png")], {"width": 5000})


def test_content_aware_resize_goes_around_the_face(stage: Stage, run_tool: RunTool, astronaut: pyvips.Image,
                                                    face: FaceBox) -> None:
    narrow = decoded(one(run_tool("content-aware-resize", [stage(astronaut.pngsave_buffer(), "a.png")],
                                  {"width": 380, "protectFaces": True})))
    assert (narrow.width, narrow.height) == (380, 512)
    seen = detect_faces(as_array(narrow))
    assert len(seen) == 1 and seen[0].w >= face.w * 0.9  # the face kept its width: the seams went around it


def test_content_aware_resize_keeps_to_its_bound() -> None:
    from engine.imaging.seams import ContentAwareSettings, _target
    assert _target(ContentAwareSettings(width=600), 4000, 3000) == (600, 1024)  # the other side within the bound
    assert _target(ContentAwareSettings(height=300), 500, 400) == (500, 300)
    assert _target(ContentAwareSettings(square=True), 500, 400) == (400, 400)
    with pytest.raises(ValidationError):
        ContentAwareSettings()


def solid_image(width: int, height: int, rgb: tuple[int, int, int]) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(solid(width, height, rgb), "")


def test_ocr_reads_lines_with_their_boxes(stage: Stage, run_tool: RunTool) -> None:
    words = pyvips.Image.text("INVOICE 4471", font="sans bold 40px", dpi=72)
    page = (255 - words.embed(60, 80, 700, 240)).cast("uchar")
    page = page.bandjoin([page, page]).copy(interpretation="srgb")
    result = run_tool("ocr", [stage(page.pngsave_buffer(), "scan.png")], {})
    assert isinstance(result, OcrResult) and (result.width, result.height) == (700, 240)
    assert "INVOICE" in result.text and "4471" in result.text
    line = result.lines[0]
    x, y, w, h = line.box
    assert 40 <= x <= 70 and 60 <= y <= 95 and words.width * 0.8 <= w <= words.width * 1.3 and 0 < line.score <= 1
    fast = run_tool("ocr", [stage(page.pngsave_buffer(), "scan.png")], {"quality": "best", "enhance": True})
    assert isinstance(fast, OcrResult) and "4471" in fast.text and abs(fast.lines[0].box[0] - x) <= 6
    empty = run_tool("ocr", [stage(solid(200, 100, (255, 255, 255)), "blank.png")], {"language": "de"})
    assert isinstance(empty, OcrResult) and empty.text == "" and empty.lines == [] and empty.language == "de"
    with pytest.raises(ValidationError):
        run_tool("ocr", [stage(solid(20, 20, (0, 0, 0)), "b.png")], {"language": "klingon"})
