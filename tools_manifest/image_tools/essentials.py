"""Essentials: resize, crop, rotate, convert, compress."""

from __future__ import annotations

from engine.imaging import essentials as ops
from engine.usage import UsageKind
from tools_manifest.image_tools.spec import Category, ImageToolSpec
from tools_manifest.spec import Cost

RENDER_COST = Cost(billed_as=[UsageKind.RENDER], note="one render per output file")

TOOLS = [
    ImageToolSpec(
        id="resize", title="Resize", category=Category.ESSENTIALS, operation=ops.RESIZE, cost=RENDER_COST,
        library="libvips (the render steps: shrink-on-load, thumbnail)",
        description="Resize to width and/or height (fit as in CSS), by percentage, or to a social-media preset; "
        "withoutEnlargement keeps small images as they are.",
        example={"width": 800, "height": 600, "fit": "inside"},
    ),
    ImageToolSpec(
        id="crop", title="Crop", category=Category.ESSENTIALS, operation=ops.CROP, cost=RENDER_COST,
        library="libvips (the render steps' region crop)",
        description="Cut a region (left, top, width, height in pixels) or the largest centred region of an "
        "aspectRatio; shape circle or rounded makes the outside transparent (PNG).",
        example={"left": 100, "top": 50, "width": 400, "height": 300},
    ),
    ImageToolSpec(
        id="rotate", title="Rotate & Flip", category=Category.ESSENTIALS, operation=ops.ROTATE, cost=RENDER_COST,
        library="libvips (rotate, similarity, flip)",
        description="Rotate by any angle clockwise (right angles are lossless in pixels; others fill the corners "
        "with background) and mirror horizontally, vertically or both.",
        example={"angle": 90, "flip": "horizontal"},
    ),
    ImageToolSpec(
        id="convert", title="Convert", category=Category.ESSENTIALS, operation=ops.CONVERT, cost=RENDER_COST,
        library="libvips (jpeg, png, webp, avif, tiff, gif savers)",
        description="Write the image as jpeg, png, webp, avif, tiff or gif, with an optional quality.",
        example={"format": "webp", "quality": 80},
    ),
    ImageToolSpec(
        id="compress", title="Compress", category=Category.ESSENTIALS, operation=ops.COMPRESS, cost=RENDER_COST,
        library="libvips (jpeg, webp, avif savers; palette quantisation for png)",
        description="Make the file smaller: a quality, or targetSizeKB to search the best quality that fits "
        "(jpeg, webp or avif). PNG is quantised to a palette.",
        example={"targetSizeKB": 200},
    ),
]
