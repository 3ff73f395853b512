"""PDF pages with pypdfium2: the page size (in points, one point = one source pixel) and a raster of it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyvips

from engine.errors import InvalidInput, PicshaError

# PDFium is not thread-safe: one page at a time in the process.
_pdfium = threading.Lock()


def _page_index(document: object, page: int) -> int:
    count = len(document)  # type: ignore[arg-type]
    if not 1 <= page <= count:
        raise InvalidInput(
            f"Page {page} does not exist; this PDF has pages 1 to {count}.",
            code="render_page_out_of_range", param="page", valid=f"1 to {count}",
        )
    return page - 1


def _open(path: Path) -> object:
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise PicshaError(
            f"The PDF could not be opened: {error}.", code="render_decode_failed", status=422
        ) from error


def page_size(path: Path, page: int) -> tuple[int, int]:
    with _pdfium:
        document: Any = _open(path)
        try:
            width, height = document[_page_index(document, page)].get_size()
        finally:
            document.close()
    return max(1, round(width)), max(1, round(height))


def rasterise(path: Path, page: int, scale: float) -> pyvips.Image:
    """The page as an sRGB image at ``scale`` pixels per point, on white."""
    with _pdfium:
        document: Any = _open(path)
        try:
            bitmap = document[_page_index(document, page)].render(scale=scale)
            pil = bitmap.to_pil().convert("RGB")
        finally:
            document.close()
    return pyvips.Image.new_from_memory(pil.tobytes(), pil.width, pil.height, 3, "uchar").copy(interpretation="srgb")
