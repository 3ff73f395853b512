"""The hostile corpus: every file made here, on the spot; nothing is downloaded.

Each case names the codes it may be refused with. ``stored_ok`` cases may instead be stored, and are then
rendered; ``structural`` refusals must come from headers or the ZIP directory, before anything is inflated.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from tests.factories import SVG, docx_bytes, heic_bytes, image_bytes, pdf_bytes
from tests.hostile import zips
from tests.hostile.zips import deflated, zeros

MiB = 1024 * 1024
PIXELS = frozenset({"asset_image_too_many_pixels", "asset_file_corrupt"})
CORRUPT = frozenset({"asset_file_corrupt", "asset_content_type_not_allowed"})
TOO_LARGE = frozenset({"asset_archive_too_large"})
BOMB = frozenset({"asset_archive_bomb"})
DTD = frozenset({"asset_xml_dtd_not_allowed"})


@dataclass
class Case:
    id: str
    filename: str
    data: bytes
    codes: frozenset[str] = frozenset()  # the codes a refusal may carry
    stored_ok: bool = False  # may be stored (then it is rendered)
    structural: bool = False  # refused before anything is inflated
    notes: list[str] = field(default_factory=list)


# -- images ------------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG header for a huge image, with a first slice of its (zero) rows."""
    rows = zlib.compress(bytes(1 + width * 3) * 64, 9)
    ihdr = struct.pack(">2I5B", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def jpeg_bomb() -> bytes:
    data = bytearray(image_bytes(64, 64, "jpeg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">2H", 65000, 65000)
    return bytes(data)


def webp_bomb() -> bytes:
    """An extended WebP whose canvas claims 16384x16384 around a 64x64 picture."""
    small = image_bytes(64, 64, "webp", lossless=True)
    vp8l = small[12:]
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _gif_frame(side: int) -> bytes:
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # 1/100 s, no transparency
    descriptor = b"\x2c" + struct.pack("<4H", 0, 0, side, side) + b"\x00"
    return control + descriptor + b"\x02\x02\x44\x01\x00"  # the first pixel, colour 0


def gif(width: int, height: int, frames: int, *, frame_side: int = 1) -> bytes:
    header = b"GIF89a" + struct.pack("<2H", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return header + loop + _gif_frame(frame_side) * frames + b"\x3b"


def _tiff_ifd(width: int, height: int, strip_at: int, next_ifd: int) -> bytes:
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, strip_at),
            (277, 3, 1), (278, 4, height), (279, 4, min(width * height, 2**32 - 1))]
    body = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        body += struct.pack("<2HI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    return body + struct.pack("<I", next_ifd)


def tiff(width: int, height: int, *, loop: bool = False) -> bytes:
    """A grey TIFF; ``loop``: a second page whose next-IFD points back at the first."""
    pixels = bytes(min(width * height, 4096))
    strip_at = 8
    first = 8 + len(pixels)
    size = 2 + 9 * 12 + 4
    second = first + size
    data = b"II*\x00" + struct.pack("<I", first) + pixels
    data += _tiff_ifd(width, height, strip_at, second if loop else 0)
    if loop:
        data += _tiff_ifd(width, height, strip_at, first)
    return data


def heif_bomb(data: bytes) -> bytes:
    out = bytearray(data)
    at = out.find(b"ispe")
    while at >= 0:
        out[at + 8 : at + 16] = struct.pack(">2I", 60000, 60000)
        at = out.find(b"ispe", at + 4)
    return bytes(out)


def avif_bytes() -> bytes:
    return image_bytes(64, 64, "avif")


# -- SVG ---------------------------------------------------------------------------------------------


def svg(body: str, attrs: str = 'width="64" height="64"', prolog: str = "") -> bytes:
    return f'<?xml version="1.0"?>{prolog}<svg xmlns="http://www.w3.org/2000/svg" ' \
           f'xmlns:xlink="http://www.w3.org/1999/xlink" {attrs}>{body}</svg>'.encode()


LAUGHS = "<!DOCTYPE svg [<!ENTITY a \"lollollollollollollollollollol\">" + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
) + "]>"


def laughs_xml(root: str) -> bytes:
    return f'<?xml version="1.0"?>{LAUGHS.replace("svg", root, 1)}<{root}>&j;</{root}>'.encode()


# -- PDF ---------------------------------------------------------------------------------------------


def pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_huge_page() -> bytes:
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /UserUnit 75000 >>"])


def pdf_many_pages(count: int) -> bytes:
    kids = b" ".join(b"3 0 R" for _ in range(count))
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"])


def pdf_huge_mediabox() -> bytes:
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9000000 9000000] >>"])


# -- the corpus ----------------------------------------------------------------------------------------


def _truncated_and_corrupt(fmt: str, name: str, data: bytes) -> list[Case]:
    middle = bytearray(data)
    for at in range(len(middle) // 3, len(middle) // 3 + 64):
        if at < len(middle):
            middle[at] ^= 0x5A
    return [
        Case(f"{fmt}-truncated", name, data[: max(16, len(data) // 2)], CORRUPT | PIXELS, stored_ok=True),
        Case(f"{fmt}-corrupt", name, bytes(middle), CORRUPT | PIXELS | BOMB | DTD, stored_ok=True),
    ]


def archive_cases() -> list[Case]:
    cases = []
    for kind in ("docx", "xlsx", "pptx"):
        folder = {"docx": "word", "xlsx": "xl", "pptx": "ppt"}[kind]
        cases += [
            Case(f"{kind}-huge-member", f"a.{kind}", zips.ooxml(kind, [zeros(f"{folder}/big.xml", 200 * MiB)]),
                 TOO_LARGE, structural=True),
            Case(f"{kind}-high-ratio", f"a.{kind}", zips.ooxml(kind, [zeros(f"{folder}/zeros.xml", 64 * MiB)]),
                 BOMB, structural=True),
            Case(f"{kind}-lying-size", f"a.{kind}",
                 zips.ooxml(kind, [zeros(f"{folder}/liar.xml", 64 * MiB, declared=1000)]), BOMB),
            Case(f"{kind}-entity-expansion", f"a.{kind}",
                 zips.ooxml(kind, [deflated("docProps/core.xml", laughs_xml("cp:coreProperties"))]), DTD),
            Case(f"{kind}-external-entity", f"a.{kind}", zips.ooxml(kind, [deflated(
                f"{folder}/{ {'docx': 'document', 'xlsx': 'workbook', 'pptx': 'presentation'}[kind]}.xml",
                b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')]), DTD),
        ]
    cases += [
        Case("odt-huge-member", "a.odt", zips.odt([zeros("content.xml", 200 * MiB)]), TOO_LARGE, structural=True),
        Case("odt-high-ratio", "a.odt", zips.odt([zeros("Pictures/zeros.bin", 64 * MiB)]), BOMB, structural=True),
        Case("odt-lying-mimetype", "a.odt", zips.build([zeros("mimetype", 64 * MiB, declared=39)]),
             BOMB | CORRUPT),
        Case("odt-entity-expansion", "a.odt", zips.odt([deflated("content.xml", laughs_xml("office:document-content"))]),
             DTD),
        Case("zip-many-members", "a.docx", zips.build(
            [deflated("[Content_Types].xml", b"<Types/>")] + [zips.stored(f"word/{i}.xml", b"") for i in range(20_000)]),
             TOO_LARGE, structural=True),
        Case("zip-overlapping-members", "a.docx", zips.build(
            [zeros("word/document.xml", 8 * MiB)] + [zeros(f"word/copy{i}.xml", 8 * MiB) for i in range(20)]
            + [deflated("[Content_Types].xml", b"<Types/>")], shared_data=True), BOMB, structural=True),
        Case("zip-of-zeros-named-docx", "zeros.docx", zips.build([zeros("zeros", 100 * MiB)]), BOMB,
             structural=True),
    ]
    for kind, data in (("docx", docx_bytes()), ("odt", zips.odt([]))):
        cases += _truncated_and_corrupt(kind, f"a.{kind}", data)
    return cases


def image_cases() -> list[Case]:
    cases = [
        Case("png-bomb", "a.png", png_bomb(100_000, 100_000), PIXELS, structural=True),
        Case("png-just-over", "a.png", png_bomb(20_000, 20_000), PIXELS, structural=True),
        Case("jpeg-bomb", "a.jpg", jpeg_bomb(), PIXELS, structural=True),
        Case("webp-bomb", "a.webp", webp_bomb(), PIXELS, structural=True),
        Case("gif-bomb", "a.gif", gif(65535, 65535, 1, frame_side=65535), PIXELS, structural=True),
        Case("gif-bogus-screen", "a.gif", gif(65535, 65535, 1), PIXELS, stored_ok=True),
        Case("gif-many-frames", "a.gif", gif(1000, 1000, 20_000), PIXELS | frozenset({"asset_too_many_frames"}),
             stored_ok=True),
        Case("tiff-bomb", "a.tif", tiff(100_000, 100_000), PIXELS, structural=True),
        Case("tiff-ifd-loop", "a.tif", tiff(64, 64, loop=True), CORRUPT, stored_ok=True),
        # Pillow reads the HEVC stream's own size; libheif refuses the huge ispe box when decoding (render: 422)
        Case("heic-bomb", "a.heic", heif_bomb(heic_bytes()), PIXELS, stored_ok=True),
        Case("avif-bomb", "a.avif", heif_bomb(avif_bytes()), PIXELS, structural=True),
    ]
    for fmt, name, data in (
        ("png", "a.png", image_bytes(96, 96, "png")), ("jpeg", "a.jpg", image_bytes(96, 96, "jpeg")),
        ("webp", "a.webp", image_bytes(96, 96, "webp")), ("gif", "a.gif", image_bytes(96, 96, "gif")),
        ("tiff", "a.tif", image_bytes(96, 96, "tiff")), ("heic", "a.heic", heic_bytes(96, 96)),
        ("avif", "a.avif", avif_bytes()), ("pdf", "a.pdf", pdf_bytes(2)), ("svg", "a.svg", SVG),
    ):
        cases += _truncated_and_corrupt(fmt, name, data)
    return cases


def svg_cases(canary: str) -> list[Case]:
    """``canary``: a URL on a local server that counts requests; nothing may ever reach it."""
    return [
        Case("svg-huge-size", "a.svg", svg("", 'width="1000000" height="1000000"'), PIXELS, structural=True),
        Case("svg-huge-viewbox", "a.svg", svg("", 'viewBox="0 0 1000000 1000000"'), PIXELS, structural=True),
        Case("svg-script", "a.svg", svg('<script>alert(1)</script><rect width="9" height="9" onload="alert(2)"/>'),
             stored_ok=True),
        Case("svg-external-image", "a.svg", svg(f'<image href="{canary}/image.png" width="64" height="64"/>'),
             stored_ok=True),
        Case("svg-xlink-image", "a.svg", svg(f'<image xlink:href="{canary}/xlink.png" width="64" height="64"/>'),
             stored_ok=True),
        Case("svg-file-image", "a.svg", svg('<image href="file:///etc/passwd" width="64" height="64"/>'), stored_ok=True),
        Case("svg-css-import", "a.svg", svg(f'<style>@import url("{canary}/style.css");</style>'), stored_ok=True),
        Case("svg-use-external", "a.svg", svg(f'<use href="{canary}/sprite.svg#x"/>'), stored_ok=True),
        Case("svg-xxe-file", "a.svg", svg("<text y=\"20\">&e;</text>", prolog='<!DOCTYPE svg [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
             CORRUPT, stored_ok=True),
        Case("svg-xxe-http", "a.svg", svg("<text y=\"20\">&e;</text>", prolog=f'<!DOCTYPE svg [<!ENTITY e SYSTEM "{canary}/xxe">]>'),
             CORRUPT, stored_ok=True),
        Case("svg-billion-laughs", "a.svg", laughs_xml("svg").replace(b"<svg>", b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text>').replace(b"</svg>", b"</text></svg>"),
             CORRUPT, stored_ok=True),
    ]


def pdf_cases() -> list[Case]:
    return [
        Case("pdf-huge-user-unit", "a.pdf", pdf_huge_page(), CORRUPT | frozenset({"asset_pdf_page_too_large"}),
             stored_ok=True),
        Case("pdf-huge-mediabox", "a.pdf", pdf_huge_mediabox(), CORRUPT | frozenset({"asset_pdf_page_too_large"}),
             stored_ok=True),
        Case("pdf-many-pages", "a.pdf", pdf_many_pages(50_000), CORRUPT | frozenset({"asset_pdf_too_many_pages"}),
             stored_ok=True),
    ]


def mismatch_cases() -> list[Case]:
    jpeg = image_bytes(64, 64, "jpeg")
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    return [
        Case("html-named-jpg", "photo.jpg", html, CORRUPT, stored_ok=True),
        Case("png-named-pdf", "report.pdf", image_bytes(64, 64, "png"), stored_ok=True),
        Case("jpeg-zip-polyglot", "a.jpg", jpeg + docx_bytes(), stored_ok=True),
        Case("jpeg-html-polyglot", "a.jpg", jpeg[:2] + b"\xff\xfe\x00\x40" + html[:62] + jpeg[2:], stored_ok=True),
        Case("html-zip-polyglot", "a.html", html + docx_bytes(), CORRUPT, stored_ok=True),
        Case("zip-html-polyglot", "a.docx", docx_bytes() + html, CORRUPT, stored_ok=True),
        Case("svg-named-png", "a.png", SVG, stored_ok=True),
    ]


def corpus(canary: str) -> list[Case]:
    return archive_cases() + image_cases() + svg_cases(canary) + pdf_cases() + mismatch_cases()
