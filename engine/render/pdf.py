"""PDF pages for render: the page size (in points, one point = one source pixel) and a raster of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyvips

from engine.errors import InvalidInput, PicshaError
from engine.media.pdf import UnreadablePdf, open_pdf


@contextmanager
def _page(path: Path, page: int) -> Iterator[Any]:
    try:
        with open_pdf(path) as document:
            count = len(document)
            if not 1 <= page <= count:
                raise InvalidInput(
                    f"Page {page} does not exist; this PDF has pages 1 to {count}.",
                    code="render_page_out_of_range", param="page", valid=f"1 to {count}",
                )
            yield document[page - 1]
    except UnreadablePdf as error:
        raise PicshaError(
            f"The PDF could not be opened: {error}.", code="render_decode_failed", status=422
        ) from error


def page_size(path: Path, page: int) -> tuple[int, int]:
    with _page(path, page) as pdf_page:
        width, height = pdf_page.get_size()
    return max(1, round(width)), max(1, round(height))


def rasterise(path: Path, page: int, scale: float) -> pyvips.Image:
    """The page as an sRGB image at ``scale`` pixels per point, on white."""
    with _page(path, page) as pdf_page:
        pil = pdf_page.render(scale=scale).to_pil().convert("RGB")
    return pyvips.Image.new_from_memory(pil.tobytes(), pil.width, pil.height, 3, "uchar").copy(interpretation="srgb")
