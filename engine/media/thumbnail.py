"""The small WebP preview made at ingest (orientation applied, shrink-on-load)."""

from __future__ import annotations

from pathlib import Path

import pyvips

from engine.ingest.sniff import FileKind
from engine.media.decoders import register_pillow_plugins, vips_can_decode

THUMBNAIL_QUALITY = 80


def _pdf_first_page(path: Path, size: int) -> pyvips.Image:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        page = document[0]
        width, height = page.get_size()
        scale = size / max(width, height, 1)
        bitmap = page.render(scale=max(scale, 0.05))
        pil = bitmap.to_pil().convert("RGB")
    finally:
        document.close()
    return pyvips.Image.new_from_memory(pil.tobytes(), pil.width, pil.height, 3, "uchar")


def _pillow_image(path: Path) -> pyvips.Image:
    register_pillow_plugins()
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        rgb = ImageOps.exif_transpose(image).convert("RGB")
    return pyvips.Image.new_from_memory(rgb.tobytes(), rgb.width, rgb.height, 3, "uchar")


def make_thumbnail(path: Path, kind: FileKind, size: int) -> tuple[bytes, int, int] | None:
    """WebP bytes and their dimensions, or None for kinds with no visual preview yet."""
    if kind.format == "pdf":
        image = _pdf_first_page(path, size).thumbnail_image(size, height=size)
    elif vips_can_decode(kind.format) and kind.format != "heic":
        image = pyvips.Image.thumbnail(str(path), size, height=size, size="down")
    elif kind.format == "heic":
        image = _pillow_image(path).thumbnail_image(size, height=size, size="down")
    else:
        return None
    data = image.webpsave_buffer(Q=THUMBNAIL_QUALITY, strip=True)
    return data, image.width, image.height
