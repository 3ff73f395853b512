"""passport-photo: a country's photo size with the head at the height its rules ask, from the face model.

Sizes and head heights (chin to crown) are the issuing authorities' published rules for passport photos
(most follow ICAO 9303's 35 x 45 mm). The face box spans brow to chin, so the crown is estimated above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pyvips
from pydantic import Field

from engine.errors import PicshaError
from engine.imaging.adjustments import frame_height
from engine.imaging.essentials import Settings, colour
from engine.imaging.items import Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Workbench
from engine.imaging.vision import find_faces
from engine.render.colour import rgba

DPI = 300
HEAD_PER_FACE = 1.3  # chin-to-crown height in face-box heights (the box stops near the hairline)
ABOVE_HEAD = 0.4  # of the space the head leaves free, the share above the crown
PRINT_GAP_MM = 2


@dataclass(frozen=True)
class PhotoRule:
    width_mm: float
    height_mm: float
    head_mm: tuple[float, float]  # chin to crown, smallest and largest allowed


class Country(StrEnum):
    US = "us"
    CA = "ca"
    GB = "gb"
    DE = "de"
    FR = "fr"
    IT = "it"
    AU = "au"
    NZ = "nz"
    JP = "jp"
    KR = "kr"
    CN = "cn"
    SCHENGEN = "schengen-visa"


ICAO = PhotoRule(35, 45, (32, 36))
RULES: dict[Country, PhotoRule] = {
    Country.US: PhotoRule(51, 51, (25, 35)),  # 2 x 2 in, head 1 to 1 3/8 in
    Country.CA: PhotoRule(50, 70, (31, 36)),
    Country.GB: PhotoRule(35, 45, (29, 34)),
    Country.DE: ICAO, Country.FR: ICAO, Country.IT: ICAO, Country.AU: ICAO, Country.NZ: ICAO,
    Country.JP: ICAO, Country.KR: ICAO, Country.SCHENGEN: ICAO,
    Country.CN: PhotoRule(33, 48, (28, 33)),
}


class PrintLayout(StrEnum):
    NONE = "none"
    FOUR_BY_SIX = "4x6"
    A4 = "A4"


SHEETS_MM = {PrintLayout.FOUR_BY_SIX: (152.4, 101.6), PrintLayout.A4: (210.0, 297.0)}


class PassportSettings(Settings):
    country: Country = Field(default=Country.US, description="Whose rules: photo size and head height.")
    printLayout: PrintLayout = Field(default=PrintLayout.NONE, description="none: one photo; 4x6 or A4: a sheet of copies.")
    backgroundColor: str = Field(default="#ffffff", max_length=32,
                                 description="Fills where the photo does not reach (the photo's own background is kept).")


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


def _photo_region(face_box: tuple[int, int, int, int], rule: PhotoRule) -> tuple[float, float, float, float]:
    """The region of the source (may reach outside it) that becomes the photo: left, top, width, height."""
    x, y, w, h = face_box
    head_px = h * HEAD_PER_FACE
    per_mm = head_px / (sum(rule.head_mm) / 2)
    width, height = rule.width_mm * per_mm, rule.height_mm * per_mm
    crown = y + h - head_px
    top = crown - (height - head_px) * ABOVE_HEAD
    return x + w / 2 - width / 2, top, width, height


def _cut(image: pyvips.Image, region: tuple[float, float, float, float], fill: list[int]) -> pyvips.Image:
    """The region, padded with ``fill`` where it leaves the picture."""
    left, top, width, height = (round(v) for v in region)
    pad_x, pad_y = max(0, -left), max(0, -top)
    pad_r, pad_b = max(0, left + width - image.width), max(0, top + height - image.height)
    if pad_x or pad_y or pad_r or pad_b:
        image = image.embed(pad_x, pad_y, image.width + pad_x + pad_r, image.height + pad_y + pad_b,
                            extend="background", background=fill[: image.bands])
    return image.crop(left + pad_x, top + pad_y, width, height)


def _sheet(photo: pyvips.Image, layout: PrintLayout, fill: list[int]) -> pyvips.Image:
    sheet_w, sheet_h = (_px(mm) for mm in SHEETS_MM[layout])
    gap = _px(PRINT_GAP_MM)
    across = max(1, (sheet_w - gap) // (photo.width + gap))
    down = max(1, (sheet_h - gap) // (photo.height + gap))
    copies = [photo] * (across * down)
    xs = [gap + (i % across) * (photo.width + gap) for i in range(len(copies))]
    ys = [gap + (i // across) * (photo.height + gap) for i in range(len(copies))]
    sheet = (pyvips.Image.black(sheet_w, sheet_h, bands=photo.bands) + fill[: photo.bands]).cast("uchar")
    return sheet.copy(interpretation="srgb").composite(copies, ["over"] * len(copies), x=xs, y=ys).cast("uchar")


def passport_photo(items: Sequence[Item], settings: PassportSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    image = picture.image.crop(0, 0, picture.image.width, frame_height(picture.image))
    if image.hasalpha():
        image = image.flatten(background=rgba(colour(settings.backgroundColor, "backgroundColor"))[:3])
    if image.interpretation != "srgb" or image.format != "uchar" or image.bands != 3:
        image = image.colourspace("srgb").cast("uchar")
    faces = find_faces(picture.with_image(image))
    if not faces:
        raise PicshaError("passport-photo found no face; use a front-facing photo with the whole head visible.",
                          code="tool_no_face", status=422)
    face = max(faces, key=lambda found: found.w * found.h)
    rule = RULES[settings.country]
    fill = rgba(colour(settings.backgroundColor, "backgroundColor"))
    region = _cut(image, _photo_region((face.x, face.y, face.w, face.h), rule), fill)
    photo = region.resize(_px(rule.width_mm) / region.width, vscale=_px(rule.height_mm) / region.height)
    photo = photo.crop(0, 0, min(photo.width, _px(rule.width_mm)), min(photo.height, _px(rule.height_mm)))
    if settings.printLayout is not PrintLayout.NONE:
        photo = _sheet(photo, settings.printLayout, fill)
    resolution = DPI / 25.4  # pixels per millimetre, what the writers store as the print size
    return picture.with_image(photo.copy(xres=resolution, yres=resolution))


PASSPORT_PHOTO = Operation(settings=PassportSettings, takes=Takes.ONE, gives=Gives.FILE, apply=passport_photo)
