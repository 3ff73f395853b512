"""Document properties for ``meta.exif`` (the way EXIF describes a photo): title, author, created,
modified and the page or slide count, from OOXML ``docProps``, ODF ``meta.xml``, OLE summary streams or the
RTF ``\\info`` group. Every ZIP member is inflated (bounded) to its declared size first."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engine.documents.formats import LEGACY_FORMATS, ODF_FORMATS, OOXML_FORMATS
from engine.media.archive import ArchiveLimits, SafeArchive, open_archive, refuse_xml_dtd

PROPERTIES_MAX_BYTES = 1024 * 1024
RTF_HEAD_BYTES = 64 * 1024
_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "ep": "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
}


def _part(archive: SafeArchive, name: str) -> ElementTree.Element | None:
    if name not in archive.names() or archive.size(name) > PROPERTIES_MAX_BYTES:
        return None
    try:
        return ElementTree.fromstring(archive.read(name))
    except ElementTree.ParseError:
        return None


def _int(value: str | None) -> int | None:
    """A positive count; writers that never lay the document out leave 0 (or nothing) in the statistics."""
    return int(value) or None if value and value.strip().isdigit() else None


def _ooxml(archive: SafeArchive) -> dict[str, Any]:
    found: dict[str, Any] = {}
    core = _part(archive, "docProps/core.xml")
    if core is not None:
        found |= {"title": core.findtext("dc:title", namespaces=_NS), "author": core.findtext("dc:creator", namespaces=_NS),
                  "created": core.findtext("dcterms:created", namespaces=_NS),
                  "modified": core.findtext("dcterms:modified", namespaces=_NS)}
    app = _part(archive, "docProps/app.xml")
    if app is not None:
        found["pages"] = _int(app.findtext("ep:Pages", namespaces=_NS))
    slides = [n for n in archive.names() if n.startswith("ppt/slides/slide") and n.endswith(".xml")]
    if slides:  # counted from the package: the statistics in app.xml may be stale
        found["slides"] = len(slides)
    return found


def _odf(archive: SafeArchive) -> dict[str, Any]:
    root = _part(archive, "meta.xml")
    meta = root.find("office:meta", _NS) if root is not None else None
    if meta is None:
        return {}
    stats = meta.find("meta:document-statistic", _NS)
    pages = stats.get(f"{{{_NS['meta']}}}page-count") if stats is not None else None
    return {"title": meta.findtext("dc:title", namespaces=_NS),
            "author": meta.findtext("meta:initial-creator", namespaces=_NS) or meta.findtext("dc:creator", namespaces=_NS),
            "created": meta.findtext("meta:creation-date", namespaces=_NS),
            "modified": meta.findtext("dc:date", namespaces=_NS), "pages": _int(pages)}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("cp1252", "replace")
    return value.strip("\x00 ").strip() or None if isinstance(value, str) else None


def _ole(path: Path) -> dict[str, Any]:
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            meta = ole.get_metadata()
    except (OSError, ValueError, IndexError, KeyError, RecursionError):
        return {}
    when = {k: v.isoformat() for k, v in (("created", meta.create_time), ("modified", meta.last_saved_time))
            if isinstance(v, datetime) and v.year > 1601}
    return when | {"title": _text(meta.title), "author": _text(meta.author),
                   "pages": meta.num_pages or None, "slides": meta.slides or None}


_RTF_INFO = re.compile(r"\{\\(title|author)\s+([^{}\\]*)\}")
_RTF_CREATED = re.compile(r"\{\\creatim\\yr(\d+)\\mo(\d+)\\dy(\d+)(?:\\hr(\d+))?(?:\\min(\d+))?")


def _rtf(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        head = handle.read(RTF_HEAD_BYTES).decode("latin-1")
    found: dict[str, Any] = {name: value.strip() for name, value in _RTF_INFO.findall(head)}
    if created := _RTF_CREATED.search(head):
        y, mo, d, h, mi = (int(part or 0) for part in created.groups())
        found["created"] = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:00"
    return found


def document_properties(path: Path, fmt: str, limits: ArchiveLimits) -> dict[str, Any]:
    """The document's properties (only those it states). Raises ``UnreadableArchive`` for a damaged package
    and ``InvalidInput`` for one over ``limits``; every member is inflated once to prove it is sound."""
    if fmt in OOXML_FORMATS + ODF_FORMATS:
        with open_archive(path, limits) as archive:
            archive.verify(refuse_xml_dtd)
            found = _ooxml(archive) if fmt in OOXML_FORMATS else _odf(archive)
    elif fmt in LEGACY_FORMATS:
        found = _ole(path)
    elif fmt == "rtf":
        found = _rtf(path)
    else:
        return {}
    return {k: v.strip() if isinstance(v, str) else v for k, v in found.items() if v not in (None, "")}
