"""EXIF and XMP written into a picture: the blocks libvips saves with the pixels (JPEG, PNG, WebP, AVIF).

EXIF ASCII fields hold ASCII only, so every text is also written as XMP (UTF-8) and, for title and
keywords, as the UTF-16 ``XP`` tags Windows shows.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from html import escape

import pyvips
from PIL import Image
from pydantic import BaseModel

# EXIF tag numbers (TIFF/EXIF 2.32)
IMAGE_DESCRIPTION, ARTIST, COPYRIGHT, DATE_TIME, ORIENTATION = 0x010E, 0x013B, 0x8298, 0x0132, 0x0112
XP_TITLE, XP_AUTHOR, XP_KEYWORDS = 0x9C9B, 0x9C9D, 0x9C9E
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
EXIF_DATE = "%Y:%m:%d %H:%M:%S"


class Fields(BaseModel):
    """What is written; ``None`` leaves a field as the file had it (EXIF) or leaves it out (XMP)."""

    title: str | None = None
    description: str | None = None
    author: str | None = None
    copyright: str | None = None
    keywords: list[str] | None = None
    latitude: float | None = None
    longitude: float | None = None
    taken: datetime | None = None


def write_fields(image: pyvips.Image, fields: Fields) -> pyvips.Image:
    """A copy of ``image`` whose EXIF block is the old one with ``fields`` set, and a new XMP packet."""
    blob = _exif_block(bytes(image.get("exif-data")) if image.get_typeof("exif-data") else None, fields)
    out = image.copy()
    for name in out.get_fields():
        # libvips rewrites the EXIF block from these parsed fields on save: the old values would win
        if name.startswith("exif-") or name in ("xmp-data", "orientation"):
            out.remove(name)
    out.set_type(pyvips.GValue.blob_type, "exif-data", blob)
    out.set_type(pyvips.GValue.blob_type, "xmp-data", _xmp(fields).encode())
    return out


def _exif_block(old: bytes | None, fields: Fields) -> bytes:
    if old is not None:
        try:
            kept = Image.Exif()
            kept.load(old)
            _set_exif(kept, fields)
            return kept.tobytes()
        except Exception:  # Pillow fails in several ways on damaged or unusual blocks: such a block is not kept
            pass
    fresh = Image.Exif()
    _set_exif(fresh, fields)
    return fresh.tobytes()


def _set_exif(exif: Image.Exif, fields: Fields) -> None:
    exif.pop(ORIENTATION, None)  # the pixels were turned upright when decoded
    for tag, value in ((IMAGE_DESCRIPTION, fields.description), (ARTIST, fields.author), (COPYRIGHT, fields.copyright)):
        if value is not None:
            exif[tag] = _ascii(value)
    for tag, value in ((XP_TITLE, fields.title), (XP_AUTHOR, fields.author),
                       (XP_KEYWORDS, ";".join(fields.keywords) if fields.keywords is not None else None)):
        if value is not None:
            exif[tag] = value.encode("utf-16-le") + b"\x00\x00"
    if fields.taken is not None:
        stamp = fields.taken.strftime(EXIF_DATE)
        exif[DATE_TIME] = stamp
        exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = stamp
        offset = fields.taken.strftime("%z")  # "+0200" when the time says its zone
        if offset:
            exif.get_ifd(EXIF_IFD)[OFFSET_TIME_ORIGINAL] = f"{offset[:3]}:{offset[3:]}"
    if fields.latitude is not None and fields.longitude is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[0] = b"\x02\x03\x00\x00"  # GPSVersionID 2.3
        gps[1], gps[2] = ("N" if fields.latitude >= 0 else "S"), _dms(fields.latitude)
        gps[3], gps[4] = ("E" if fields.longitude >= 0 else "W"), _dms(fields.longitude)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round(((value - degrees) * 60 - minutes) * 60 * 10_000), 10_000)
    return Fraction(degrees), Fraction(minutes), seconds


def _xmp(fields: Fields) -> str:
    def alt(name: str, value: str | None) -> str:
        return (f'<dc:{name}><rdf:Alt><rdf:li xml:lang="x-default">{escape(value)}</rdf:li></rdf:Alt></dc:{name}>'
                if value is not None else "")

    parts = [alt("title", fields.title), alt("description", fields.description), alt("rights", fields.copyright)]
    if fields.author is not None:
        parts.append(f"<dc:creator><rdf:Seq><rdf:li>{escape(fields.author)}</rdf:li></rdf:Seq></dc:creator>")
    if fields.keywords:
        items = "".join(f"<rdf:li>{escape(word)}</rdf:li>" for word in fields.keywords)
        parts.append(f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>")
    if fields.taken is not None:
        parts.append(f"<xmp:CreateDate>{fields.taken.isoformat()}</xmp:CreateDate>")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/">{"".join(parts)}</rdf:Description></rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>'
    )
