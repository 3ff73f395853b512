"""Which decoder reads which allow-listed format, and the one place decoders are configured."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyvips

from engine.errors import InvalidInput

MAX_SVG_BYTES = 10 * 1024 * 1024

# libvips reads these itself; the rest (HEIC, whose HEVC decoder libvips may lack) go through Pillow.
VIPS_FORMATS = {"jpeg", "png", "webp", "avif", "gif", "tiff", "svg"}
VIPS_LOADERS = {
    "jpeg": "jpegload", "png": "pngload", "webp": "webpload", "avif": "heifload",
    "gif": "gifload", "tiff": "tiffload", "svg": "svgload", "heic": "heifload",
}


@cache
def register_pillow_plugins() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


@cache
def vips_can_decode(fmt: str) -> bool:
    loader = VIPS_LOADERS.get(fmt)
    return loader is not None and pyvips.type_find("VipsForeign", loader) != 0


def vips_load(path: str, fmt: str, **options: object) -> pyvips.Image:
    """Open with the loader for the sniffed format only, never libvips' own guess from the bytes.

    SVG is parsed from a buffer: with no base location, no reference in it reaches a file or a host.
    """
    if fmt == "svg":
        options.setdefault("unlimited", False)
        return pyvips.Image.svgload_buffer(svg_source(path), **options)
    return getattr(pyvips.Image, VIPS_LOADERS[fmt])(path, **options)


def svg_source(path: str | Path) -> bytes:
    """An SVG file's bytes, refused over ``MAX_SVG_BYTES`` (the XML is parsed whole)."""
    size = Path(path).stat().st_size
    if size > MAX_SVG_BYTES:
        raise InvalidInput(
            f"The SVG is {size} bytes; SVG files over {MAX_SVG_BYTES} bytes are not accepted.",
            code="asset_svg_too_large", limit=MAX_SVG_BYTES,
        )
    return Path(path).read_bytes()
