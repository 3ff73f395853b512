"""optimize-for-web, strip-metadata, edit-metadata, bulk-rename, image-to-pdf and favicon: outputs opened and read."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pypdfium2
import pytest
import pyvips
from PIL import Image
from pydantic import ValidationError

from engine.errors import InvalidInput
from engine.imaging import ImageFile
from engine.imaging.metadata import Fields, write_fields
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.factories import image_bytes, jpeg_with_exif


def one(result: object) -> ImageFile:
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def test_optimize_for_web_shrinks_converts_and_strips(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(jpeg_with_exif(lat=48.85, lon=2.29, width=640, height=480), "photo.jpg")
    web = one(run_tool("optimize-for-web", [photo], {"maxWidthPx": 320}))
    image = decoded(web)
    assert web.media_type == "image/webp" and (image.width, image.height) == (320, 240)
    assert not image.get_typeof("exif-data")
    kept = one(run_tool("optimize-for-web", [photo], {"format": "jpeg", "stripMetadata": False, "maxWidthPx": 2000}))
    assert decoded(kept).width == 640 and Image.open(io.BytesIO(kept.data)).getexif().get(0x013B) == "Ada Lovelace"
    assert len(one(run_tool("optimize-for-web", [photo], {"format": "avif", "quality": 30})).data) < len(kept.data)


def test_strip_metadata_drops_exif_and_gps(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(jpeg_with_exif(lat=48.85, lon=2.29), "photo.jpg")
    assert Image.open(photo.path).getexif().get_ifd(0x8825)
    stripped = one(run_tool("strip-metadata", [photo], {}))
    exif = Image.open(io.BytesIO(stripped.data)).getexif()
    assert stripped.media_type == "image/jpeg" and not exif.get(0x013B) and not exif.get_ifd(0x8825)


def test_edit_metadata_writes_exif_and_xmp(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(jpeg_with_exif(orientation=6), "photo.jpg")  # stored sideways: written upright
    settings = {"title": "Pont Neuf", "description": "Dusk over the Seine", "author": "Zoë Martin",
                "copyright": "(c) 2026 Zoe Martin", "keywords": ["bridge", "dusk"], "gps": {"lat": -33.8568, "lon": 151.2153},
                "dateTime": "2024-06-01T18:30:05"}
    for source, media in ((photo, "image/jpeg"), (stage(image_bytes(60, 40, "webp"), "a.webp"), "image/webp"),
                          (stage(image_bytes(60, 40, "png"), "a.png"), "image/png")):
        edited = one(run_tool("edit-metadata", [source], settings))
        assert edited.media_type == media
        opened = Image.open(io.BytesIO(edited.data))
        exif = opened.getexif()
        assert exif[0x010E] == "Dusk over the Seine" and exif[0x8298] == "(c) 2026 Zoe Martin"
        assert exif[0x0132] == "2024:06:01 18:30:05" and exif.get_ifd(0x8769)[0x9003] == "2024:06:01 18:30:05"
        assert exif[0x9C9D].decode("utf-16-le").rstrip("\x00") == "Zoë Martin"  # XPAuthor keeps the accent
        gps = exif.get_ifd(0x8825)
        latitude = sum(float(part) / 60 ** index for index, part in enumerate(gps[2]))
        longitude = sum(float(part) / 60 ** index for index, part in enumerate(gps[4]))
        assert gps[1] == "S" and gps[3] == "E" and abs(latitude - 33.8568) < 1e-4 and abs(longitude - 151.2153) < 1e-4
        xmp = bytes(decoded(edited).get("xmp-data")).decode()
        assert '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Pont Neuf</rdf:li>' in xmp
        assert "<dc:creator><rdf:Seq><rdf:li>Zoë Martin</rdf:li>" in xmp
        assert "<dc:subject><rdf:Bag><rdf:li>bridge</rdf:li><rdf:li>dusk</rdf:li></rdf:Bag>" in xmp
    zoned = Image.open(io.BytesIO(one(run_tool("edit-metadata", [photo], {"dateTime": "2024-06-01T18:30:05+02:00"})).data))
    assert zoned.getexif().get_ifd(0x8769)[0x9011] == "+02:00"
    upright = Image.open(io.BytesIO(one(run_tool("edit-metadata", [photo], {"title": "x"})).data))
    assert upright.height > upright.width and upright.getexif().get(0x0112) in (None, 1)
    assert upright.getexif()[0x010F] == "Canon"  # the camera's own fields are kept
    with pytest.raises(ValidationError):
        run_tool("edit-metadata", [photo], {"gps": {"lat": 91, "lon": 0}})


def test_a_damaged_exif_block_is_replaced() -> None:
    garbled = pyvips.Image.new_from_buffer(image_bytes(40, 30), "").copy()
    garbled.set_type(pyvips.GValue.blob_type, "exif-data", b"Exif\x00\x00XX\x00*garbage")
    written = write_fields(garbled, Fields(author="Ada")).write_to_buffer(".jpg", keep=pyvips.enums.ForeignKeep.ALL)
    assert Image.open(io.BytesIO(written)).getexif()[0x013B] == "Ada"


def test_bulk_rename_names_files_and_keeps_bytes(stage: Stage, run_tool: RunTool) -> None:
    files = [stage(image_bytes(20, 20), "beach.jpg"), stage(image_bytes(20, 20, "png"), "cliff.png"),
             stage(image_bytes(20, 20), "beach.jpeg")]
    renamed = run_tool("bulk-rename", files, {"pattern": "trip-{date}-{n}-{original}", "startIndex": 7, "padding": 3})
    assert isinstance(renamed, list)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert [file.filename for file in renamed] == [f"trip-{today}-007-beach.jpg", f"trip-{today}-008-cliff.png",
                                                    f"trip-{today}-009-beach.jpg"]
    assert [file.data for file in renamed] == [file.path.read_bytes() for file in files]
    clashing = run_tool("bulk-rename", files, {"pattern": "../same"})  # no folders; equal names made distinct
    assert isinstance(clashing, list)
    assert [file.filename for file in clashing] == ["_same.jpg", "_same.png", "_same-2.jpg"]
    with pytest.raises(InvalidInput) as unknown:
        run_tool("bulk-rename", files, {"pattern": "{name}-{n}"})
    assert "{original}" in unknown.value.message


def test_image_to_pdf_pages_and_sizes(stage: Stage, run_tool: RunTool) -> None:
    photos = [stage(image_bytes(400, 300), "a.jpg"), stage(image_bytes(200, 300, "png", alpha=True), "b.png"),
              stage(image_bytes(120, 90, "webp"), "c.webp")]
    pdf = one(run_tool("image-to-pdf", photos, {"pageSize": "A4", "margin": 36}))
    assert pdf.media_type == "application/pdf" and pdf.filename == "a.pdf"
    document = pypdfium2.PdfDocument(pdf.data)
    assert len(document) == 3
    assert [tuple(round(side) for side in page.get_size()) for page in document] == [(842, 595), (595, 842), (842, 595)]
    single = pypdfium2.PdfDocument(one(run_tool("image-to-pdf", photos[:1], {"pageSize": "Letter",
                                                                              "orientation": "portrait"})).data)
    assert len(single) == 1 and tuple(round(side) for side in single[0].get_size()) == (612, 792)
    fitted = pypdfium2.PdfDocument(one(run_tool("image-to-pdf", photos[:1], {"pageSize": "fit", "margin": 10})).data)
    assert tuple(round(side) for side in fitted[0].get_size()) == (420, 320)  # one point per pixel, plus margins
    jpeg = photos[0].path.read_bytes()
    assert jpeg in pdf.data  # the JPEG is embedded as it is: no second compression


def test_favicon_gives_every_size_an_ico_and_a_manifest(stage: Stage, run_tool: RunTool) -> None:
    logo = stage(image_bytes(300, 200, "png", alpha=True), "logo.png")
    files = run_tool("favicon", [logo], {"padding": 10, "backgroundColor": "#336699", "borderRadius": 50})
    assert isinstance(files, list)
    by_name = {file.filename: file for file in files}
    for name, side in (("favicon-16x16.png", 16), ("favicon-32x32.png", 32), ("apple-touch-icon.png", 180),
                       ("android-chrome-192x192.png", 192), ("android-chrome-512x512.png", 512)):
        icon = decoded(by_name[name])
        assert (icon.width, icon.height) == (side, side) and by_name[name].media_type == "image/png"
    big = decoded(by_name["android-chrome-512x512.png"])
    assert big.getpoint(2, 2)[3] == 0  # borderRadius 50: a circle, the corners transparent
    assert big.getpoint(256, 20)[:3] == [0x33, 0x66, 0x99]  # padding shows the background
    ico = Image.open(io.BytesIO(by_name["favicon.ico"].data))
    assert by_name["favicon.ico"].media_type == "image/vnd.microsoft.icon"
    assert sorted(ico.info["sizes"]) == [(16, 16), (32, 32), (48, 48)]
    manifest = json.loads(by_name["site.webmanifest"].data)
    assert manifest["theme_color"] == "#336699"
    assert [icon["sizes"] for icon in manifest["icons"]] == ["192x192", "512x512"]
    with pytest.raises(InvalidInput):
        run_tool("favicon", [logo], {"backgroundColor": "not-a-colour"})
