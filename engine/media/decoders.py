"""Which decoder reads which allow-listed format, and the one place decoders are configured."""

from __future__ import annotations

from functools import cache

import pyvips

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
    """Open with the loader for the sniffed format only, never libvips' own guess from the bytes."""
    loader = getattr(pyvips.Image, VIPS_LOADERS[fmt])
    if fmt == "svg":
        options.setdefault("unlimited", False)
    return loader(path, **options)
