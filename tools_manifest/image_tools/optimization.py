"""Optimization: optimize-for-web, strip-metadata, edit-metadata, bulk-rename, image-to-pdf, favicon."""

from __future__ import annotations

from engine.imaging import optimization as ops
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec

TOOLS = [
    ImageToolSpec(
        id="optimize-for-web", title="Optimize for Web", category=Category.OPTIMIZATION,
        operation=ops.OPTIMIZE_FOR_WEB, cost=RENDER_COST, library="libvips (the render steps and savers)",
        description="A smaller file for the web: webp (auto), jpeg or avif at a quality, shrunk to maxWidthPx, "
        "metadata dropped unless stripMetadata is false.",
        example={"format": "auto", "quality": 80, "maxWidthPx": 1920},
    ),
    ImageToolSpec(
        id="strip-metadata", title="Strip Metadata", category=Category.OPTIMIZATION, operation=ops.STRIP_METADATA,
        cost=RENDER_COST, library="libvips",
        description="Remove EXIF (camera, GPS, dates) and XMP; the pixels are turned upright and the colour "
        "profile is kept.",
    ),
    ImageToolSpec(
        id="edit-metadata", title="Edit Metadata", category=Category.OPTIMIZATION, operation=ops.EDIT_METADATA,
        cost=RENDER_COST, library="libvips (writes the blocks), Pillow (builds EXIF)",
        description="Write title, description, author, copyright, keywords, gps and dateTime into the file's "
        "EXIF and XMP, keeping its other EXIF. jpeg, png, webp, avif; others become png.",
        example={"author": "Ada Lovelace", "keywords": ["bridge", "dusk"], "gps": {"lat": 48.8584, "lon": 2.2945}},
    ),
    ImageToolSpec(
        id="bulk-rename", title="Bulk Rename", category=Category.OPTIMIZATION, operation=ops.BULK_RENAME,
        cost=RENDER_COST, library="none (the files are returned unchanged)",
        description="Give files new names from a pattern with {n} (from startIndex, zero-padded to padding), "
        "{date} (today) and {original}; the extension follows the file's real format.",
        example={"pattern": "trip-{date}-{n}", "startIndex": 1, "padding": 3},
    ),
    ImageToolSpec(
        id="image-to-pdf", title="Image to PDF", category=Category.OPTIMIZATION, operation=ops.IMAGE_TO_PDF,
        cost=RENDER_COST, library="img2pdf (JPEG embedded untouched, others lossless)",
        description="One PDF page per image, in order: pageSize (or fit), orientation, margin in points, fitMode.",
        example={"pageSize": "A4", "orientation": "auto", "margin": 36, "fitMode": "contain"},
    ),
    ImageToolSpec(
        id="favicon", title="Favicon Generator", category=Category.OPTIMIZATION, operation=ops.FAVICON,
        cost=RENDER_COST, library="libvips (PNGs), Pillow (ICO)",
        description="Every standard icon from one image: PNGs 16 to 512 (apple-touch, android-chrome), "
        "favicon.ico (16, 32, 48) and site.webmanifest.",
        example={"padding": 10, "backgroundColor": "#ffffff", "borderRadius": 20},
    ),
]
