"""info, compare, find-duplicates, color-palette, qr-generate, barcode-read, image-to-base64: answers checked
against the files made here (codes read back with zxing-cpp)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import pyvips
import zxingcpp
from pydantic import BaseModel, ValidationError

from engine.errors import InvalidInput, PicshaError
from engine.imaging import ImageFile
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.factories import heic_bytes, image_bytes, jpeg_with_exif


def one(result: object) -> ImageFile:
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def answer(result: object) -> dict:
    assert isinstance(result, BaseModel)
    return result.model_dump()


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=3) + list(rgb)).cast("uchar").copy(interpretation="srgb")


def test_info_reads_the_header(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(jpeg_with_exif(orientation=6, width=320, height=240), "camera.jpg")
    facts = answer(run_tool("info", [photo], {}))
    assert (facts["width"], facts["height"], facts["orientation"]) == (240, 320, 6)  # as shown: upright
    assert facts["format"] == "jpeg" and facts["size"] == photo.path.stat().st_size and facts["channels"] == 3
    assert facts["exif"]["Make"] == "Canon" and facts["exif"]["Artist"] == "Ada Lovelace" and not facts["hasAlpha"]
    printed = solid(30, 20, (1, 2, 3)).bandjoin_const([255]).copy(xres=300 / 25.4, yres=300 / 25.4)
    logo = answer(run_tool("info", [stage(printed.write_to_buffer(".png"), "logo.png")], {}))
    assert (logo["channels"], logo["hasAlpha"], logo["dpi"], logo["pages"]) == (4, True, 300, 1)
    assert answer(run_tool("info", [stage(image_bytes(20, 20, "webp"), "plain.webp")], {}))["dpi"] is None


def test_compare_modes_and_score(stage: Stage, run_tool: RunTool) -> None:
    base = solid(100, 80, (40, 120, 200))
    changed = base.insert(solid(20, 20, (250, 250, 0)), 10, 10)  # 400 of 8000 pixels differ
    first, second = stage(base.write_to_buffer(".png"), "a.png"), stage(changed.write_to_buffer(".png"), "b.png")
    score = answer(run_tool("compare", [first, second], {"mode": "score"}))
    assert score["differentPixels"] == 400 and score["similarity"] == 95.0 and score["sameSize"]
    assert answer(run_tool("compare", [first, first], {"mode": "score"}))["similarity"] == 100.0
    diff = decoded(one(run_tool("compare", [first, second], {"mode": "diff"})))
    assert diff.getpoint(15, 15) == [255, 0, 0] and diff.getpoint(60, 60)[0] == diff.getpoint(60, 60)[2] != 255
    side = decoded(one(run_tool("compare", [first, stage(solid(50, 40, (0, 0, 0)).write_to_buffer(".png"), "c.png")],
                                {"mode": "side-by-side"})))
    assert (side.width, side.height) == (100 + 2 + 100, 80)  # the second scaled to the first's height
    overlay = decoded(one(run_tool("compare", [first, second], {"mode": "overlay"})))
    assert (overlay.width, overlay.height) == (100, 80) and abs(overlay.getpoint(15, 15)[0] - (40 + 250) / 2) <= 1
    with pytest.raises(ValidationError):
        run_tool("compare", [first, second], {"mode": "blink"})


def test_find_duplicates_groups_look_alikes(stage: Stage, run_tool: RunTool) -> None:
    original = image_bytes(400, 300)
    smaller = pyvips.Image.new_from_buffer(original, "").thumbnail_image(200).write_to_buffer(".webp", Q=40)
    other = solid(400, 300, (255, 255, 255)).draw_rect([0, 0, 0], 0, 0, 200, 150, fill=True)
    other = other.draw_rect([0, 0, 0], 200, 150, 200, 150, fill=True).write_to_buffer(".png")
    files = [stage(original, "a.jpg"), stage(other, "checks.png"), stage(smaller, "a-small.webp")]
    found = answer(run_tool("find-duplicates", files, {}))
    assert [group["files"] for group in found["groups"]] == [[0, 2]]
    assert found["groups"][0]["filenames"] == ["a.jpg", "a-small.webp"] and found["groups"][0]["maxDistance"] <= 8
    assert len(found["files"]) == 3 and all(len(entry["hash"]) == 16 for entry in found["files"])
    assert answer(run_tool("find-duplicates", files, {"threshold": 64}))["groups"][0]["files"] == [0, 1, 2]


def test_color_palette_finds_the_colours(stage: Stage, run_tool: RunTool) -> None:
    halves = solid(100, 100, (220, 20, 20)).insert(solid(30, 100, (20, 40, 220)), 70, 0)
    picture = stage(halves.write_to_buffer(".png"), "flag.png")
    palette = answer(run_tool("color-palette", [picture], {"count": 2}))["colors"]
    assert [entry["name"] for entry in palette] == ["red", "blue"] and abs(palette[0]["fraction"] - 0.7) < 0.03
    assert palette[0]["color"].startswith("#") and len(palette[0]["color"]) == 7
    as_rgb = answer(run_tool("color-palette", [picture], {"count": 2, "format": "rgb"}))["colors"]
    assert as_rgb[0]["color"].startswith("rgb(2")


def _read(data: bytes) -> list[tuple[str, str]]:
    image = pyvips.Image.new_from_buffer(data, "")
    image = image.flatten(background=[255] * (image.bands - 1)) if image.hasalpha() else image
    grey = image.colourspace("b-w")[0].cast("uchar")
    pixels = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
    return [(code.text, str(code.format)) for code in zxingcpp.read_barcodes(pixels)]


def test_qr_generate_reads_back(stage: Stage, run_tool: RunTool) -> None:
    url = "https://example.com/a?b=c"
    code = one(run_tool("qr-generate", [], {"data": url, "size": 300, "errorCorrectionLevel": "L"}))
    assert code.media_type == "image/png" and code.filename == "qr.png"
    assert (decoded(code).width, decoded(code).height) == (300, 300) and _read(code.data) == [(url, "QR Code")]
    long_text = "Picsha QR styles " * 8
    for dots, corners in (("dots", "circle"), ("rounded", "rounded"), ("square", "circle"), ("dots", "square")):
        styled = one(run_tool("qr-generate", [], {"data": long_text, "dotStyle": dots, "cornerStyle": corners}))
        assert decoded(styled).width == 512 and _read(styled.data) == [(long_text, "QR Code")], (dots, corners)
    dotted, square = (decoded(one(run_tool("qr-generate", [], {"data": "x", "dotStyle": style, "size": 210})))
                      for style in ("dots", "square"))
    assert (dotted - square).abs().max() > 0  # the module shapes differ
    clear = decoded(one(run_tool("qr-generate", [], {"data": "x", "colorLight": "transparent", "colorDark": "#102030"})))
    assert clear.bands == 4 and clear.getpoint(0, 0)[3] == 0
    logo = stage(image_bytes(100, 100, "png"), "logo.png")
    branded = one(run_tool("qr-generate", [logo], {"data": url, "size": 400}))
    assert _read(branded.data) == [(url, "QR Code")]
    assert decoded(branded).getpoint(200, 200) not in ([0, 0, 0], [255, 255, 255])  # the logo's gradient
    with pytest.raises(InvalidInput):
        run_tool("qr-generate", [], {"data": "x" * 2000, "errorCorrectionLevel": "H"})
    with pytest.raises(InvalidInput) as counted:
        run_tool("qr-generate", [logo, logo], {"data": "x"})
    assert counted.value.code == "tool_input_count"


def test_barcode_read_finds_every_code(stage: Stage, run_tool: RunTool) -> None:
    qr = pyvips.Image.new_from_buffer(one(run_tool("qr-generate", [], {"data": "picsha", "size": 200})).data, "")
    bars = []
    for text, fmt in (("5901234123457", zxingcpp.BarcodeFormat.EAN13), ("PICSHA-128", zxingcpp.BarcodeFormat.Code128)):
        drawn = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=3))
        bars.append(pyvips.Image.new_from_memory(drawn.tobytes(), drawn.shape[1], drawn.shape[0], 1, "uchar"))
    sheet = solid(900, 300, (255, 255, 255)).insert(qr, 20, 50)
    sheet = sheet.insert(bars[0].bandjoin([bars[0], bars[0]]), 260, 20)
    sheet = sheet.insert(bars[1].bandjoin([bars[1], bars[1]]), 260, 200 - bars[1].height // 2 + 20)
    found = answer(run_tool("barcode-read", [stage(sheet.write_to_buffer(".png"), "sheet.png")], {}))
    assert found["count"] == 3
    assert {(code["text"], code["format"]) for code in found["codes"]} == {
        ("picsha", "QR Code"), ("5901234123457", "EAN-13"), ("PICSHA-128", "Code 128")}
    located = next(code for code in found["codes"] if code["text"] == "picsha")
    assert 20 <= located["x"] <= 60 and 50 <= located["y"] <= 90 and 100 <= located["width"] <= 200
    assert answer(run_tool("barcode-read", [stage(image_bytes(80, 60), "none.jpg")], {}))["codes"] == []


def test_image_to_base64(stage: Stage, run_tool: RunTool) -> None:
    png = stage(image_bytes(40, 30, "png"), "a.png")
    uri = answer(run_tool("image-to-base64", [png], {}))
    assert uri["data"].startswith("data:image/png;base64,") and uri["mimeType"] == "image/png"
    assert base64.b64decode(uri["data"].split(",", 1)[1]) == png.path.read_bytes()
    plain = answer(run_tool("image-to-base64", [png], {"format": "plain", "mimeType": "image/webp"}))
    converted = pyvips.Image.new_from_buffer(base64.b64decode(plain["data"]), "")
    assert plain["mimeType"] == "image/webp" and converted.get("vips-loader").startswith("webp") and converted.width == 40


def test_damaged_files_are_a_clear_422(stage: Stage, run_tool: RunTool) -> None:
    cut = stage(image_bytes(200, 200)[:300], "cut.jpg")  # the header itself is cut short
    for tool in ("info", "barcode-read", "color-palette", "image-to-base64"):
        with pytest.raises(PicshaError) as damaged:
            run_tool(tool, [cut], {})
        assert (damaged.value.code, damaged.value.status) == ("tool_input_unreadable", 422), tool


def test_info_reads_heic_through_pillow(stage: Stage, run_tool: RunTool) -> None:
    facts = answer(run_tool("info", [stage(heic_bytes(64, 48), "phone.heic")], {}))
    assert (facts["width"], facts["height"], facts["format"], facts["channels"]) == (64, 48, "heic", 3)
