"""AI: the tools whose model the operator provides (an ONNX file per model, set by path)."""

from __future__ import annotations

from engine.imaging import generative as ops
from engine.imaging.restoration import RESTORE_PHOTO
from engine.usage import UsageKind
from tools_manifest.image_tools.spec import Category, ImageToolSpec
from tools_manifest.spec import Cost

MODEL_COST = Cost(billed_as=[UsageKind.AI_OPERATION], note="one AI operation per output file (local model)")

TOOLS = [
    ImageToolSpec(
        id="remove-background", title="Remove Background", category=Category.AI, operation=ops.REMOVE_BACKGROUND,
        cost=MODEL_COST, library="U2-Net or BiRefNet (ONNX Runtime); guided-filter alpha matting (OpenCV)",
        description="Cut the subject out: a transparent background (PNG/WebP), a background colour, or the "
        "mask itself (returnMask).",
        example={"model": "u2net", "background": "#ffffff"},
    ),
    ImageToolSpec(
        id="upscale", title="Image Upscaling", category=Category.AI, operation=ops.UPSCALE, cost=MODEL_COST,
        library="Real-ESRGAN (ONNX Runtime), tiled; OpenCV non-local means for denoise",
        description="Enlarge 2x or 4x with Real-ESRGAN, adding detail; optional denoise first and face "
        "restoration after.",
        example={"scale": 2, "format": "png"},
    ),
    ImageToolSpec(
        id="erase-object", title="Object Eraser", category=Category.AI, operation=ops.ERASE_OBJECT, cost=MODEL_COST,
        library="LaMa (ONNX Runtime)",
        description="Remove what a mask covers and fill it in plausibly. The mask (white = erase) is a second "
        "file or maskData, a base64 PNG.",
        example={"maskThreshold": 128},
    ),
    ImageToolSpec(
        id="colorize", title="AI Colorization", category=Category.AI, operation=ops.COLORIZE, cost=MODEL_COST,
        library="DDColor (ONNX Runtime); Lab colour space (OpenCV)",
        description="Add natural colour to a black-and-white photo; the photo's own lightness is kept.",
        example={"intensity": 0.8},
    ),
    ImageToolSpec(
        id="enhance-faces", title="Face Enhancement", category=Category.AI, operation=ops.ENHANCE_FACES,
        cost=MODEL_COST, library="GFPGAN or CodeFormer (ONNX Runtime); faces found by NudeNet",
        description="Restore blurry or damaged faces: each face found is restored at 512x512 and blended back "
        "by strength.",
        example={"model": "gfpgan", "strength": 0.8},
    ),
    ImageToolSpec(
        id="restore-photo", title="Photo Restoration", category=Category.AI, operation=RESTORE_PHOTO,
        cost=MODEL_COST, library="LaMa, GFPGAN/CodeFormer, DDColor (ONNX Runtime); OpenCV denoise",
        description="Repair an old photo: fill scratches, denoise, restore faces, colorize black and white. Steps "
        "whose model is not set are skipped.",
        example={"mode": "auto", "colorize": False},
    ),
]
