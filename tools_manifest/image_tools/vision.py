"""AI tools on the models Picsha ships: faces (blur-faces, smart-crop, red-eye-removal, passport-photo,
content-aware-resize), OCR, and analysis-based enhancement and denoising."""

from __future__ import annotations

from engine.imaging import passport, seams, vision
from engine.usage import UsageKind
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec
from tools_manifest.spec import Cost

LOCAL_MODEL_COST = Cost(billed_as=[UsageKind.AI_OPERATION], note="one AI operation per file (a local model)")

TOOLS = [
    ImageToolSpec(
        id="blur-faces", title="Face / PII Blur", category=Category.AI, operation=vision.BLUR_FACES,
        cost=LOCAL_MODEL_COST, library="NudeNet face detector (ONNX, shipped); libvips blur (the render's)",
        description="Find faces and blur each with a soft oval; sensitivity trades missed faces for false ones. "
        "A picture without faces comes back unchanged.",
        example={"blurRadius": 25, "sensitivity": 0.6},
    ),
    ImageToolSpec(
        id="smart-crop", title="Smart Crop", category=Category.AI, operation=vision.SMART_CROP,
        cost=LOCAL_MODEL_COST, library="libvips attention crop; NudeNet faces (the render's gravity=face)",
        description="Crop to width x height around the subject (attention) or the faces, frame a person with "
        "facePreset (close-up ... half-body), or trim a plain border.",
        example={"mode": "face", "width": 400, "height": 500, "facePreset": "head-and-shoulders"},
    ),
    ImageToolSpec(
        id="image-enhancement", title="Image Enhancement", category=Category.AI, operation=vision.IMAGE_ENHANCEMENT,
        cost=RENDER_COST, library="libvips and OpenCV (measured exposure, levels, chroma, Laplacian)",
        description="Measure exposure, contrast, colour and sharpness, then correct what is off (auto) or one "
        "of them, strength percent of the way.",
        example={"mode": "auto", "strength": 60},
    ),
    ImageToolSpec(
        id="noise-removal", title="Noise Removal", category=Category.AI, operation=vision.NOISE_REMOVAL,
        cost=RENDER_COST, library="OpenCV (median, bilateral, non-local means)",
        description="Denoise: fast (median), balanced (bilateral) or best (non-local means), keeping edges "
        "(preserveDetail) and smoothing colour speckle (colorNoise).",
        example={"quality": "balanced", "strength": 50},
    ),
    ImageToolSpec(
        id="red-eye-removal", title="Red Eye Removal", category=Category.AI, operation=vision.RED_EYE_REMOVAL,
        cost=LOCAL_MODEL_COST, library="NudeNet faces; colour analysis in the eye band (numpy, OpenCV)",
        description="Find faces, then darken strongly red pixels where the eyes are; red elsewhere is left alone.",
        example={"sensitivity": 0.5, "strength": 80},
    ),
    ImageToolSpec(
        id="passport-photo", title="Passport Photo", category=Category.AI, operation=passport.PASSPORT_PHOTO,
        cost=LOCAL_MODEL_COST, library="NudeNet faces; libvips",
        description="Crop and scale to a country's passport size at 300 dpi with the head at its rule's height "
        "(us, ca, gb, de, fr, it, au, nz, jp, kr, cn, schengen-visa); optionally a 4x6 or A4 sheet.",
        example={"country": "gb", "printLayout": "4x6"},
    ),
    ImageToolSpec(
        id="content-aware-resize", title="Content-Aware Resize", category=Category.AI,
        operation=seams.CONTENT_AWARE_RESIZE, cost=LOCAL_MODEL_COST,
        library="seam carving in numpy; NudeNet faces; libvips",
        description="Change the aspect ratio by removing low-detail seams instead of squashing, going around "
        "faces; up to 1024 px a side.",
        example={"width": 600, "height": 400, "protectFaces": True},
    ),
    ImageToolSpec(
        id="ocr", title="OCR / Text Extraction", category=Category.AI, operation=vision.OCR, cost=LOCAL_MODEL_COST,
        library="rapidocr (PP-OCRv6 multilingual ONNX, shipped)",
        description="Read the text: JSON with every line's text, confidence and box. One shipped model reads "
        "English, Chinese, Japanese and Latin-script languages together.",
        example={"quality": "balanced"},
    ),
]
