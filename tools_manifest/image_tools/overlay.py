"""Watermark & Overlay: watermark-text, watermark-image, text-overlay, compose."""

from __future__ import annotations

from engine.imaging import overlay as ops
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec

TOOLS = [
    ImageToolSpec(
        id="watermark-text", title="Text Watermark", category=Category.WATERMARK, operation=ops.WATERMARK_TEXT,
        cost=RENDER_COST, library="libvips (Pango text; the render's watermark step)",
        description="Stamp text at a compass position or tiled over the whole picture, with font, size, "
        "colour, opacity and rotation. Animated GIFs get it on every frame.",
        example={"text": "(c) Picsha", "opacity": 40, "rotation": -30, "tile": True},
    ),
    ImageToolSpec(
        id="watermark-image", title="Image Watermark", category=Category.WATERMARK, operation=ops.WATERMARK_IMAGE,
        cost=RENDER_COST, library="libvips (the render's watermark step)",
        description="Lay the second file (a logo, PNG with transparency) over the first at a compass position; "
        "scale is its width as a fraction of the image width.",
        example={"position": "southeast", "opacity": 60, "scale": 0.2},
    ),
    ImageToolSpec(
        id="text-overlay", title="Text Overlay", category=Category.WATERMARK, operation=ops.TEXT_OVERLAY,
        cost=RENDER_COST, library="libvips (Pango text, SVG box, composite)",
        description="Write text at x, y (pixels) on a box with background colour, padding and rounded "
        "corners; a transparent background gives bare text.",
        example={"text": "SALE -30%", "x": 20, "y": 20, "fontSize": 48, "background": "#d00000"},
    ),
    ImageToolSpec(
        id="compose", title="Image Composition", category=Category.WATERMARK, operation=ops.COMPOSE,
        cost=RENDER_COST, library="libvips (composite with blend modes)",
        description="Layer the second file over the first at x, y with opacity and a blend mode (normal, "
        "multiply, screen, overlay, ...). The result has the first file's size.",
        example={"x": 40, "y": 40, "opacity": 80, "blend": "multiply"},
    ),
]
