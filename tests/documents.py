"""Real office documents for the document tests and bench/documents.py, made by the libraries that write them."""

from __future__ import annotations

import io
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path


def docx_bytes(text: str, *, title: str = "Harbour plan", author: str = "Ada Lovelace") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title, document.core_properties.author = title, author
    document.core_properties.created = datetime(2024, 6, 15, 10, 0, 0)
    document.add_heading(title, level=1)
    for line in text.split("\n"):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(cells: dict[str, object], *, sheet: str = "Budget") -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = sheet
    for ref, value in cells.items():
        book.active[ref] = value
    book.properties.creator = "Grace Hopper"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pptx_bytes(slides: list[tuple[str, str]], *, notes: str = "") -> bytes:
    import pptx

    deck = pptx.Presentation()
    for title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def odt_bytes(text: str, *, title: str = "Minutes") -> bytes:
    from odf.meta import InitialCreator
    from odf.dc import Title
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.meta.addElement(Title(text=title))
    document.meta.addElement(InitialCreator(text="Alan Turing"))
    for line in text.split("\n"):
        document.text.addElement(P(text=line))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def ods_bytes(words: list[str], *, sheet: str = "Stock") -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name=sheet)
    for word in words:
        row, cell = TableRow(), TableCell(valuetype="string")
        cell.addElement(P(text=word))
        row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def odp_bytes(title: str, notes: str = "") -> bytes:
    """One slide with a text box (and speaker notes)."""
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout, PageLayoutProperties
    from odf.text import P

    document = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    layout.addElement(PageLayoutProperties(margin="0cm", pagewidth="28cm", pageheight="21cm",
                                           printorientation="landscape"))
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    page = Page(name="Slide1", masterpagename=master)
    document.presentation.addElement(page)
    for parent, text in ((page, title), *(((Notes(), notes),) if notes else ())):
        if parent is not page:
            page.addElement(parent)
        frame = Frame(width="20cm", height="3cm", x="2cm", y="2cm")
        box = TextBox()
        box.addElement(P(text=text))
        frame.addElement(box)
        parent.addElement(frame)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def rtf_bytes(text: str) -> bytes:
    return ("{\\rtf1\\ansi{\\fonttbl{\\f0 Times;}}{\\info{\\title Memo}{\\author Hedy Lamarr}}"
            f"\\f0 {text}\\par}}").encode()


def encrypted_docx(text: str, password: str = "secret") -> bytes:
    """A Word file saved with a password (an OLE container around an encrypted package)."""
    import msoffcrypto.format.ooxml

    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(docx_bytes(text))).encrypt(password, out)
    return out.getvalue()


def docx_bomb(inflated: int = 64 * 1024**2) -> bytes:
    """A small file that looks like a Word document and inflates to ``inflated`` bytes (declared honestly)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        info = zipfile.ZipInfo("word/document.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(inflated // len(chunk)):
                member.write(chunk)
    return out.getvalue()


def corrupt_docx(text: str = "damaged") -> bytes:
    """A Word file whose document part was damaged after it was written (its CRC no longer matches)."""
    data = bytearray(docx_bytes(text))
    at = data.index(b"word/document.xml") + len("word/document.xml") + 20  # inside that member's data
    data[at:at + 8] = b"\xff" * 8
    return bytes(data)


def legacy_files(folder: Path, sources: dict[str, bytes]) -> dict[str, bytes]:
    """doc, xls and ppt files written by LibreOffice from OOXML ones: ``{"a.doc": docx bytes, ...}`` gives
    ``{"a.doc": doc bytes, ...}``. One cold ``soffice --convert-to`` per target format."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, data in sources.items():
        stem, fmt = name.rsplit(".", 1)
        source = folder / f"{stem}.{ {'doc': 'docx', 'xls': 'xlsx', 'ppt': 'pptx'}[fmt]}"
        source.write_bytes(data)
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                        "--convert-to", fmt, "--outdir", str(folder / "out"), str(source)],
                       check=True, capture_output=True, timeout=180)
        made[name] = (folder / "out" / name).read_bytes()
    return made
