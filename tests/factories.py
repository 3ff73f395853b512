"""Test data made on the spot: settings on a temporary folder, real images, keys for accounts."""

from __future__ import annotations

import asyncio
import io
from fractions import Fraction
from pathlib import Path

import pyvips
from PIL import Image

from engine import Engine, Settings
from engine.enrich.settings import AnalysisDefaults
from engine.enrich.skills import ANALYSIS_FLAGS


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    base = Settings(data_dir=tmp_path / "data", public_url="http://testserver")
    # Uploads in tests answer 201 ready unless a test turns analysis on (tests/engine/enrich does).
    base.enrich.defaults = AnalysisDefaults(**{flag: False for flag in ANALYSIS_FLAGS}, location_lookup=True)
    # Models load on first use, on the caller's path: a search never skips a path because a model was still
    # warming (tests/engine/enrich/test_warm_up.py turns the background warm-up on).
    base.enrich.warm_up = False
    # Office uploads get no PDF view unless a test asks (tests/engine/documents): LibreOffice starts only there.
    base.documents.convert = False
    # An app served inside the test process would lower the priority of the test runner's own threads (the
    # priority sweep is tested in tests/engine/admission and through picsha serve, in processes of its own).
    base.admission.compute_nice = 0
    # Nor freeze the test runner's heap at each app start (tests/engine/admission/test_heap.py tests it).
    base.admission.freeze_heap = False
    # Passwords are still argon2id, at the smallest cost it allows: tests log in often.
    base.accounts.argon2_memory_kib, base.accounts.argon2_time_cost = 1024, 1
    return base.model_copy(update=overrides)


def image_bytes(width: int = 640, height: int = 480, fmt: str = "jpeg", *, alpha: bool = False, **save: object) -> bytes:
    """A real, non-uniform picture (gradients plus a block), encoded by libvips."""
    x = pyvips.Image.xyz(width, height)
    red = (x[0] * 255 / max(width - 1, 1)).cast("uchar")
    green = (x[1] * 255 / max(height - 1, 1)).cast("uchar")
    blue = ((x[0] + x[1]) % 256).cast("uchar")
    image = red.bandjoin([green, blue])
    if alpha:
        image = image.bandjoin((x[0] % 256).cast("uchar"))
    image = image.copy(interpretation="srgb")
    suffix = {"jpeg": ".jpg", "tiff": ".tif"}.get(fmt, f".{fmt}")
    return image.write_to_buffer(suffix, **save)


def _rational(value: float) -> tuple[Fraction, Fraction, Fraction]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction(round((minutes_full - minutes) * 60 * 100), 100)
    return (Fraction(degrees), Fraction(minutes), seconds)


def jpeg_with_exif(
    *, lat: float | None = None, lon: float | None = None, make: str = "Canon", model: str = "Canon EOS R5",
    artist: str = "Ada Lovelace", taken: str | None = "2025:11:19 14:02:11", orientation: int = 1,
    width: int = 320, height: int = 240, offset: str | None = None, digitized: str | None = None,
) -> bytes:
    """A JPEG whose EXIF carries camera, author, time, orientation and (optionally) GPS, written by Pillow.
    ``taken`` is DateTimeOriginal, ``offset`` its OffsetTimeOriginal ('+02:00'), ``digitized`` CreateDate."""
    image = Image.open(io.BytesIO(image_bytes(width, height, "png")))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x013B], exif[0x0112] = make, model, artist, orientation
    extra = exif.get_ifd(0x8769)
    for tag, value in ((0x9003, taken), (0x9011, offset), (0x9004, digitized)):
        if value is not None:
            extra[tag] = value
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _rational(abs(lat))
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _rational(abs(lon))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", exif=exif)
    return out.getvalue()


def pdf_bytes(pages: int = 2, text: str = "Quarterly report") -> bytes:
    out = io.BytesIO()
    frames = [Image.new("RGB", (612, 792), (255, 255, 255 - i * 40)) for i in range(pages)]
    frames[0].save(out, "PDF", save_all=True, append_images=frames[1:], title=text, author="Graphx")
    return out.getvalue()


def make_key(settings: Settings, name: str = "tester") -> str:
    """Create an account with a key in the settings' catalog (before a server starts on it)."""

    async def work() -> str:
        async with Engine.open(settings) as engine:
            account_id = await engine.keys.create_account(name)
            return (await engine.keys.create_key(account_id, name))[1]

    return asyncio.run(work())


def heic_bytes(width: int = 64, height: int = 48) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "HEIF")
    return out.getvalue()


def docx_bytes(text: str = "Quarterly report for the finance team.") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.author = "Graphx"
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def office_zip(kind: str) -> bytes:
    """A minimal OOXML (xlsx, pptx) or ODF (odt) container, enough for type sniffing."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
            archive.writestr("content.xml", "<office:document-content/>")
        else:
            folder = {"xlsx": "xl", "pptx": "ppt"}[kind]
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr(f"{folder}/workbook.xml", "<x/>")
    return out.getvalue()


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="120" height="80" fill="#c33"/></svg>'
