"""Layout & Composition: collage, stitch, split, border."""

from __future__ import annotations

from engine.imaging import layout as ops
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec

TOOLS = [
    ImageToolSpec(
        id="collage", title="Collage / Grid", category=Category.LAYOUT, operation=ops.COLLAGE, cost=RENDER_COST,
        library="libvips (the render's cover resize, composite)",
        description="Arrange 2+ files in a template (grid-2x2 ... grid-4x4, rows-N, columns-N, 1+2, 1+3, 2+3, "
        "feature-5, center-4, ...); each is cover-cropped into its cell, in order.",
        example={"template": "1+2", "width": 1200, "gap": 10, "borderRadius": 12},
    ),
    ImageToolSpec(
        id="stitch", title="Stitch / Combine", category=Category.LAYOUT, operation=ops.STITCH, cost=RENDER_COST,
        library="libvips (composite)",
        description="Join 2+ files side by side, stacked, or in a grid, at their own sizes (matchSize scales them "
        "to the first), with a gap and alignment.",
        example={"direction": "horizontal", "gap": 10, "alignment": "center"},
    ),
    ImageToolSpec(
        id="split", title="Image Splitting", category=Category.LAYOUT, operation=ops.SPLIT, cost=RENDER_COST,
        library="libvips (crop)",
        description="Cut into rows x cols tiles, horizontal or vertical strips, or tiles of tileWidth x "
        "tileHeight; gives one file per tile (a ZIP over REST).",
        example={"mode": "grid", "rows": 3, "cols": 3},
    ),
    ImageToolSpec(
        id="border", title="Border & Frame", category=Category.LAYOUT, operation=ops.BORDER, cost=RENDER_COST,
        library="libvips (composite, SVG rounded mask, Gaussian shadow)",
        description="Frame the picture: a solid, gradient or striped border, an inner padding matte, rounded "
        "outer corners and an optional drop shadow.",
        example={"width": 30, "color": "#222222", "padding": 10, "borderRadius": 24, "shadow": True},
    ),
]
