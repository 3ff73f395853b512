"""Adjustments: color-adjustments, sharpening, replace-color."""

from __future__ import annotations

from engine.imaging import adjustments as ops
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec

TOOLS = [
    ImageToolSpec(
        id="color-adjustments", title="Adjust Colors", category=Category.ADJUSTMENTS, operation=ops.COLOR_ADJUSTMENTS,
        cost=RENDER_COST, library="libvips (linear-light exposure, LCh chroma, recomb)",
        description="Brightness, contrast, exposure, saturation, temperature, vibrance and sharpness in one "
        "pass, then effects (grayscale, sepia, invert, vignette) in order.",
        example={"brightness": 10, "saturation": 20, "effects": ["vignette"]},
    ),
    ImageToolSpec(
        id="sharpening", title="Sharpening", category=Category.ADJUSTMENTS, operation=ops.SHARPENING, cost=RENDER_COST,
        library="libvips (sharpen; Gaussian unsharp mask; high-pass overlay)",
        description="Sharpen detail: adaptive (edges more than flat areas), unsharp mask, or high-pass overlay; "
        "amount in percent, radius in pixels, threshold in levels.",
        example={"mode": "unsharp", "amount": 150, "radius": 1.5, "threshold": 4},
    ),
    ImageToolSpec(
        id="replace-color", title="Replace Color", category=Category.ADJUSTMENTS, operation=ops.REPLACE_COLOR,
        cost=RENDER_COST, library="libvips (CIE Lab distance)",
        description="Swap one colour (within a tolerance, delta E) for another, keeping shading; invert replaces "
        "everything else; a transparent replacement cuts the colour out (PNG).",
        example={"targetColor": "#ff0000", "replacementColor": "#0000ff", "tolerance": 30},
    ),
]
