"""Format & Conversion: svg-to-raster, vectorize, gif-tools, pdf-to-image."""

from __future__ import annotations

from engine.imaging import formats as ops
from engine.usage import UsageKind
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec
from tools_manifest.spec import Cost

PAGES_COST = Cost(billed_as=[UsageKind.RENDER], note="one render per page made")

TOOLS = [
    ImageToolSpec(
        id="svg-to-raster", title="SVG to Raster", category=Category.FORMAT, operation=ops.SVG_TO_RASTER,
        cost=RENDER_COST, library="libvips (librsvg, from a buffer: no external references)",
        description="Rasterise an SVG at width/height (fits inside both), or at scale and dpi of its own size; "
        "background fills behind (default transparent).",
        example={"format": "png", "width": 1024, "background": "#ffffff"},
    ),
    ImageToolSpec(
        id="vectorize", title="Image to SVG", category=Category.FORMAT, operation=ops.VECTORIZE, cost=RENDER_COST,
        library="vtracer",
        description="Trace the image into SVG paths: color, or bw below threshold; colorPrecision, filterSpeckle "
        "and pathMode (none, polygon, spline) set the detail. Traced at most 1024 px a side.",
        example={"colorMode": "color", "filterSpeckle": 4, "pathMode": "spline"},
    ),
    ImageToolSpec(
        id="gif-tools", title="GIF Tools", category=Category.FORMAT, operation=ops.GIF_TOOLS, cost=RENDER_COST,
        library="libvips (cgif)",
        description="Animated GIF (or WebP) in, GIF out with its frames: action resize (width/height), optimize "
        "(colors, lossy), reverse, speed, rotate (angle), add-text (text, fontSize, position); extract-frames "
        "gives one PNG per frame.",
        example={"action": "speed", "speed": 2},
    ),
    ImageToolSpec(
        id="pdf-to-image", title="PDF to Image", category=Category.FORMAT, operation=ops.PDF_TO_IMAGE, cost=PAGES_COST,
        library="PDFium (pypdfium2) via the render's page loader",
        description='One image per page: pages "all" or a range like "1-3,5" (at most 100), format, dpi, quality.',
        example={"pages": "1-3", "format": "png", "dpi": 150},
    ),
]
