"""PDF documents with pypdfium2. PDFium is not thread-safe, so every user in the process holds one lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_pdfium = threading.Lock()


class UnreadablePdf(Exception):
    """PDFium could not open the file; the message says why."""


@contextmanager
def open_pdf(path: Path) -> Iterator[Any]:
    """The open ``pypdfium2.PdfDocument``, with the process-wide PDFium lock held until it is closed."""
    import pypdfium2

    with _pdfium:
        try:
            document = pypdfium2.PdfDocument(str(path))
        except pypdfium2.PdfiumError as error:
            raise UnreadablePdf(str(error)) from error
        try:
            yield document
        finally:
            document.close()
