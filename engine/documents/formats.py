"""Which document formats Picsha knows, recognised from their bytes: ZIP packages by their member names and
mimetype, OLE (compound file) containers by their stream names, RTF by its signature."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InvalidInput
from engine.media.archive import ArchiveLimits, SafeArchive, UnreadableArchive, open_archive

OOXML_PREFIXES = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))
ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
OLE_STREAMS = (("worddocument", "doc"), ("workbook", "xls"), ("book", "xls"), ("powerpoint document", "ppt"))
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RTF_SIGNATURE = b"{\\rtf"
ODF_FORMATS = ("odt", "ods", "odp")
OOXML_FORMATS = ("docx", "xlsx", "pptx")
LEGACY_FORMATS = ("doc", "xls", "ppt")
OFFICE_FORMATS = OOXML_FORMATS + ODF_FORMATS + LEGACY_FORMATS + ("rtf",)
TEXT_FORMATS = ("txt", "md")  # LibreOffice reads them as plain text (markdown's marks stay as written)
CONVERTED_FORMATS = OFFICE_FORMATS + TEXT_FORMATS
"""Formats LibreOffice turns into a PDF view (which gives them a thumbnail and page renders)."""


def encrypted(message: str) -> InvalidInput:
    return InvalidInput(
        f"{message} Picsha stores documents it can read: remove the password and upload it again.",
        code="asset_document_encrypted",
    )


def zip_format(archive: SafeArchive) -> str | None:
    """The office format a ZIP package (directory already checked) holds; encrypted ODF is refused."""
    names = archive.names()
    if "mimetype" in names and archive.size("mimetype") < 256:
        fmt = ODF_MIMETYPES.get(archive.read("mimetype").strip())
        if fmt is not None:
            manifest = "META-INF/manifest.xml"
            if manifest in names and archive.size(manifest) < 1024 * 1024 and b"encryption-data" in archive.read(manifest):
                raise encrypted(f"The {fmt} file is password-protected.")
            return fmt
    if "[Content_Types].xml" in names:
        for prefix, fmt in OOXML_PREFIXES:
            if any(name.startswith(prefix) for name in names):
                return fmt
    return None


def sniff_zip(path: Path, limits: ArchiveLimits) -> str | None:
    try:
        with open_archive(path, limits) as archive:
            return zip_format(archive)
    except UnreadableArchive:
        return None


def sniff_ole(path: Path) -> str | None:
    """doc, xls or ppt from a compound file's streams; an encrypted OOXML file (also a compound file) is refused."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, IndexError, KeyError, RecursionError) as error:
        del error  # a damaged compound file is simply not a known format
        return None
    if "encryptedpackage" in streams:
        raise encrypted("The Office file is password-protected (an encrypted package).")
    return next((fmt for name, fmt in OLE_STREAMS if name in streams), None)
