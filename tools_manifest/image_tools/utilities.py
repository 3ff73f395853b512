"""Utilities: info, compare, find-duplicates, color-palette, qr-generate, barcode-read, image-to-base64."""

from __future__ import annotations

from engine.imaging import codes
from engine.imaging import utilities as ops
from tools_manifest.image_tools.essentials import RENDER_COST
from tools_manifest.image_tools.spec import Category, ImageToolSpec
from tools_manifest.spec import Cost

READ_COST = Cost(note="free: nothing is recorded")

TOOLS = [
    ImageToolSpec(
        id="info", title="Image Info", category=Category.UTILITIES, operation=ops.INFO, cost=READ_COST,
        library="libvips (header only; Pillow for HEIC)",
        description="Read the header, not the pixels: width, height, format, size in bytes, channels, hasAlpha, "
        "dpi, orientation, pages and EXIF fields.",
    ),
    ImageToolSpec(
        id="compare", title="Image Compare", category=Category.UTILITIES, operation=ops.COMPARE, cost=RENDER_COST,
        library="libvips",
        description="Compare the image with a second one: side-by-side, overlay, diff (differing pixels in red) "
        "or score (JSON: similarity percent, mean difference). diffThreshold is per channel, 0-255.",
        example={"mode": "score", "diffThreshold": 16},
    ),
    ImageToolSpec(
        id="find-duplicates", title="Find Duplicates", category=Category.UTILITIES, operation=ops.FIND_DUPLICATES,
        cost=READ_COST, library="libvips + numpy (64-bit DCT perceptual hash)",
        description="Group files that look alike: perceptual hashes within threshold bits (default 8) of each "
        "other. Gives the groups as file indexes and names, and every file's hash.",
        example={"threshold": 8},
    ),
    ImageToolSpec(
        id="color-palette", title="Color Palette", category=Category.UTILITIES, operation=ops.COLOR_PALETTE,
        cost=READ_COST, library="libvips + numpy (k-means)",
        description="The count dominant colours, most common first, as hex or rgb, with a colour name and share.",
        example={"count": 5, "format": "hex"},
    ),
    ImageToolSpec(
        id="qr-generate", title="QR Code Generator", category=Category.UTILITIES, operation=codes.QR_GENERATE,
        cost=RENDER_COST, library="segno",
        description="Make a QR code PNG from data (no file needed), with square, rounded or dot modules and "
        "eyes. An optional file is placed in the middle as a logo (error correction H).",
        example={"data": "https://example.com", "size": 512, "errorCorrectionLevel": "M"},
    ),
    ImageToolSpec(
        id="barcode-read", title="Barcode Reader", category=Category.UTILITIES, operation=codes.BARCODE_READ,
        cost=READ_COST, library="zxing-cpp",
        description="Find and read every barcode in the image (QR, EAN, UPC, Code128, DataMatrix, PDF417, ...): "
        "text, format and bounding box.",
    ),
    ImageToolSpec(
        id="image-to-base64", title="Image to Base64", category=Category.UTILITIES, operation=ops.IMAGE_TO_BASE64,
        cost=READ_COST, library="none (libvips when mimeType converts)",
        description="The file as base64 text, a data-uri or plain; mimeType converts it first. Files up to 8 MB.",
        example={"format": "data-uri"},
    ),
]
