"""Decide a file's type from its bytes, never from what the client claims.

Only allow-listed formats are recognised; everything else is refused before any decoder sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.assets.models import AssetType
from engine.documents.formats import OLE_SIGNATURE, RTF_SIGNATURE, sniff_ole, sniff_zip
from engine.media.archive import ArchiveLimits

HEAD_BYTES = 4096


@dataclass(frozen=True)
class FileKind:
    format: str
    content_type: str
    type: AssetType
    extension: str


KINDS = {
    kind.format: kind
    for kind in [
        FileKind("jpeg", "image/jpeg", AssetType.IMAGE, "jpg"),
        FileKind("png", "image/png", AssetType.IMAGE, "png"),
        FileKind("webp", "image/webp", AssetType.IMAGE, "webp"),
        FileKind("avif", "image/avif", AssetType.IMAGE, "avif"),
        FileKind("gif", "image/gif", AssetType.IMAGE, "gif"),
        FileKind("tiff", "image/tiff", AssetType.IMAGE, "tiff"),
        FileKind("heic", "image/heic", AssetType.IMAGE, "heic"),
        FileKind("svg", "image/svg+xml", AssetType.IMAGE, "svg"),
        FileKind("pdf", "application/pdf", AssetType.DOCUMENT, "pdf"),
        FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", AssetType.DOCUMENT, "docx"),
        FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", AssetType.DOCUMENT, "xlsx"),
        FileKind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", AssetType.DOCUMENT, "pptx"),
        FileKind("odt", "application/vnd.oasis.opendocument.text", AssetType.DOCUMENT, "odt"),
        FileKind("ods", "application/vnd.oasis.opendocument.spreadsheet", AssetType.DOCUMENT, "ods"),
        FileKind("odp", "application/vnd.oasis.opendocument.presentation", AssetType.DOCUMENT, "odp"),
        FileKind("doc", "application/msword", AssetType.DOCUMENT, "doc"),
        FileKind("xls", "application/vnd.ms-excel", AssetType.DOCUMENT, "xls"),
        FileKind("ppt", "application/vnd.ms-powerpoint", AssetType.DOCUMENT, "ppt"),
        FileKind("rtf", "application/rtf", AssetType.DOCUMENT, "rtf"),
        FileKind("txt", "text/plain", AssetType.TEXT, "txt"),
        FileKind("md", "text/markdown", AssetType.TEXT, "md"),
    ]
}
ALLOWED_FORMATS = ", ".join(KINDS)

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}


def _iso_bmff(head: bytes) -> str | None:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(box_size, len(head)), 4)}
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIF_BRANDS:
        return "heic"
    return None


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        return False
    return b"<svg" in text[:HEAD_BYTES].lower()


def _is_text(path: Path) -> bool:
    decoder_chunk = 1024 * 1024
    with open(path, "rb") as handle:
        tail = b""
        while chunk := handle.read(decoder_chunk):
            if b"\x00" in chunk:
                return False
            if not tail and chunk.isascii():  # valid UTF-8 as it is, checked without decoding
                continue
            data = tail + chunk
            try:
                data.decode("utf-8")
                tail = b""
            except UnicodeDecodeError as error:
                if error.start < len(data) - 4:
                    return False
                tail = data[error.start :]
    return not tail


def sniff(
    path: Path, filename: str, *, ascii_text: bool = False, archive: ArchiveLimits = ArchiveLimits()
) -> FileKind | None:
    """The file's kind from its first bytes (and, for ZIP containers, its member names).

    ``ascii_text``: the caller already saw that every byte is ASCII without NUL, so the whole-file
    text check is answered without reading the file again. A ZIP container over the ``archive`` limits is
    refused here (``InvalidInput``), from its directory alone, and so is a password-protected document.
    """
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(b"\xff\xd8\xff"):
        return KINDS["jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["png"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return KINDS["webp"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return KINDS["gif"]
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return KINDS["tiff"]
    if head.startswith(b"%PDF-"):
        return KINDS["pdf"]
    if (bmff := _iso_bmff(head)) is not None:
        return KINDS[bmff]
    if head.startswith(b"PK\x03\x04"):
        office = sniff_zip(path, archive)
        return KINDS[office] if office else None
    if head.startswith(OLE_SIGNATURE):
        legacy = sniff_ole(path)
        return KINDS[legacy] if legacy else None
    if head.startswith(RTF_SIGNATURE):
        return KINDS["rtf"]
    if _looks_like_svg(head):
        return KINDS["svg"]
    if head and (ascii_text or _is_text(path)):
        return KINDS["md"] if Path(filename).suffix.lower() in _MARKDOWN_SUFFIXES else KINDS["txt"]
    return None
