"""The words of an office file, read from its XML parts in bounded pieces (never a whole part in memory),
stopping once ``limit`` characters are found: Word and Writer paragraphs, sheet names and cell text of
spreadsheets, slide text and speaker notes of decks, RTF without its control words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from engine.documents.formats import LEGACY_FORMATS, ODF_FORMATS, OOXML_FORMATS
from engine.media.archive import ArchiveLimits, SafeArchive, open_archive, refuse_xml_dtd

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DRAW_NS = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
RTF_MAX_BYTES = 8 * 1024 * 1024
_NUMBERED = re.compile(r"(\d+)\.xml$")


class _Words:
    """Collects text up to ``limit`` characters; ``full`` tells readers to stop early."""

    def __init__(self, limit: int):
        self.limit, self.parts, self.size = limit, [], 0

    def add(self, text: str | None) -> None:
        if text and text.strip() and not self.full:
            self.parts.append(text.strip())
            self.size += len(text) + 1

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def text(self) -> str:
        return "\n".join(self.parts)[: self.limit]


def _elements(archive: SafeArchive, name: str) -> Iterator[ElementTree.Element]:
    """Each element of a member as it ends (its children cleared after), parsed piece by piece."""
    parser = ElementTree.XMLPullParser(events=("end",))
    for index, piece in enumerate(archive.pieces(name)):
        if index == 0:
            refuse_xml_dtd(name, piece)
        parser.feed(piece)
        for _event, element in parser.read_events():
            yield element
    parser.close()


def _numbered(names: set[str], folder: str) -> list[str]:
    found = [n for n in names if n.startswith(folder) and "/" not in n[len(folder):] and _NUMBERED.search(n)]
    return sorted(found, key=lambda n: int(_NUMBERED.search(n).group(1)))  # type: ignore[union-attr]


def _paragraphs(archive: SafeArchive, name: str, words: _Words, para: str, run: str) -> None:
    """Text of each ``para`` element, joined from its ``run`` elements."""
    pending: list[str] = []
    for element in _elements(archive, name):
        if element.tag == run and element.text:
            pending.append(element.text)
        elif element.tag == para:
            words.add("".join(pending))
            pending = []
            element.clear()
            if words.full:
                return


def _docx(archive: SafeArchive, words: _Words) -> None:
    _paragraphs(archive, "word/document.xml", words, f"{W}p", f"{W}t")


def _xlsx(archive: SafeArchive, words: _Words) -> None:
    names = archive.names()
    for element in _elements(archive, "xl/workbook.xml"):
        if element.tag == f"{S}sheet":
            words.add(element.get("name"))
    if "xl/sharedStrings.xml" in names:
        _paragraphs(archive, "xl/sharedStrings.xml", words, f"{S}si", f"{S}t")
    for sheet in _numbered(names, "xl/worksheets/sheet"):
        for element in _elements(archive, sheet):  # inline strings and numbers (shared strings came above)
            if element.tag == f"{S}c":
                if element.get("t") == "inlineStr":
                    words.add("".join(t.text or "" for t in element.iter(f"{S}t")))
                elif element.get("t") != "s":
                    words.add(element.findtext(f"{S}v"))
                element.clear()
            if words.full:
                return


def _pptx(archive: SafeArchive, words: _Words) -> None:
    names = archive.names()
    for folder in ("ppt/slides/slide", "ppt/notesSlides/notesSlide"):
        for part in _numbered(names, folder):
            _paragraphs(archive, part, words, f"{A}p", f"{A}t")


def _odf(archive: SafeArchive, words: _Words) -> None:
    """Headings and paragraphs (slide notes are paragraphs too), with sheet and slide names."""
    for element in _elements(archive, "content.xml"):
        if element.tag in (f"{TEXT_NS}p", f"{TEXT_NS}h"):
            words.add("".join(element.itertext()))
            element.clear()
        elif element.tag in (f"{TABLE_NS}table", f"{DRAW_NS}page"):
            words.add(element.get(f"{TABLE_NS}name") or element.get(f"{DRAW_NS}name"))
            element.clear()
        if words.full:
            return


_RTF_SKIP = re.compile(r"\{\\\*[^{}]*\}|\{\\(?:fonttbl|colortbl|stylesheet|info|pict)[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
_RTF_CONTROL = re.compile(r"\\'([0-9a-fA-F]{2})|\\u(-?\d+)\??|\\(par|line|tab|cell|row)\b ?|\\[a-zA-Z]+-?\d* ?|\\[{}\\]|[{}]")


def rtf_text(data: str) -> str:
    """RTF without groups that hold no body text and without control words (\\par and kin become breaks)."""
    def replace(match: re.Match[str]) -> str:
        hex_byte, unicode, breaking = match.group(1), match.group(2), match.group(3)
        if hex_byte:
            return bytes([int(hex_byte, 16)]).decode("cp1252", "replace")
        if unicode:
            return chr(int(unicode) % 65536)
        if breaking:
            return "\n"
        return match.group(0)[1] if match.group(0) in ("\\{", "\\}", "\\\\") else ""

    for _ in range(3):  # inner groups first, so the table that held them matches on the next pass
        data, removed = _RTF_SKIP.subn("", data)
        if not removed:
            break
    return _RTF_CONTROL.sub(replace, data)


def extract_text(path: Path, fmt: str, *, limits: ArchiveLimits, limit: int) -> str | None:
    """The document's words (None for formats whose words come from the PDF view: doc, xls, ppt)."""
    if fmt == "rtf":
        with path.open("rb") as handle:
            data = handle.read(RTF_MAX_BYTES).decode("latin-1")
        return rtf_text(data).strip()[:limit]
    if fmt in LEGACY_FORMATS or fmt not in OOXML_FORMATS + ODF_FORMATS:
        return None
    words = _Words(limit)
    reader = {"docx": _docx, "xlsx": _xlsx, "pptx": _pptx}.get(fmt, _odf)
    with open_archive(path, limits) as archive:
        archive.verify(refuse_xml_dtd)  # what ingest refuses is refused here too, whichever part is read
        try:
            reader(archive, words)
        except KeyError:
            pass  # a part the format names is missing: what was read so far is what it has
        except ElementTree.ParseError:
            pass  # malformed XML past some text: keep what was read
    return words.text()
