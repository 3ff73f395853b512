"""Render settings: the worker pool, the pixel limits, the responsive sizes made at ingest, the encoders."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RenderSettings(BaseModel):
    workers: int = Field(default=2, ge=1, le=64, description="Renders that run at the same time.")
    queue: int = Field(default=16, ge=0, le=10_000, description="Renders that may wait; beyond this: 503 busy.")
    retry_after_s: int = Field(default=1, ge=1, le=600, description="Retry-After sent with a busy answer.")
    timeout_s: float = Field(default=60.0, gt=0, description="A render is abandoned between steps after this.")
    max_input_pixels: int = Field(default=200_000_000, ge=1, description="Sources above this are not decoded.")
    max_output_pixels: int = Field(default=40_000_000, ge=1, description="Largest width x height of one output frame.")
    max_frames: int = Field(default=100, ge=1, le=10_000, description="Animated GIF/WebP keep at most this many frames.")
    face_detection: bool = Field(default=True, description="gravity=face may run the offline face model.")
    pre_render_widths: list[int] = Field(
        default_factory=lambda: [320, 640, 1024, 1600],
        description="Widths (WebP) made at ingest when an upload's pre_render_sizes flag is on.",
    )
    vips_concurrency: int = Field(
        default=0, ge=0, le=64,
        description="libvips threads per render (0: libvips' own default, one per core). Renders already run "
        "side by side on the workers, so fewer threads per render may serve more renders per second.",
    )
    # How a JPEG is decoded and how each format is encoded (``q`` stays a render parameter). These change a
    # derivative's bytes, so ``signature`` is part of its cache key.
    fast_shrink_on_load: bool = Field(
        default=False,
        description="Decode a JPEG at the smallest size its loader can shrink to that still covers the output "
        "(1/2, 1/4, 1/8), as sharp does by default, then resize; off: libvips' choice, which leaves a factor of "
        "two for the resize. On: ~10% faster renders, slightly softer pixels (2-8% more bytes at equal quality).",
    )
    webp_effort: int = Field(
        default=4, ge=0, le=6, description="libwebp method: 0 fastest; higher tries more modes for smaller files."
    )
    webp_smart_subsample: bool = Field(default=False, description="Sharper chroma edges in WebP, at several times the time.")
    avif_effort: int = Field(default=2, ge=0, le=9, description="AV1 encoder effort: 0 fastest, 9 smallest.")
    jpeg_optimize_coding: bool = Field(default=False, description="Optimised Huffman tables: smaller JPEGs, same pixels.")
    jpeg_trellis_quant: bool = Field(default=False, description="Trellis quantisation, where the JPEG library has it.")
    vips_cache_max_mb: int = Field(default=64, ge=0, description="libvips operation cache memory.")
    memo_ttl_s: float = Field(default=10.0, ge=0, description="How long a cache hit is remembered in memory (0: off).")
    memo_size: int = Field(default=10_000, ge=0, description="Cache hits remembered in memory.")
    hot_bytes_mb: int = Field(default=32, ge=0, description="Memory for the bytes of small, often served renders.")
    deferred_max_mb: int = Field(
        default=64, ge=0,
        description="New renders answered before their blob is stored hold at most this much memory; past it "
        "(a slow store), a render is stored before it is answered.",
    )

    def encoder_options(self, fmt: str) -> dict[str, object]:
        """The libvips save options these settings give ``fmt``."""
        if fmt == "webp":
            return {"effort": self.webp_effort, "smart_subsample": self.webp_smart_subsample}
        if fmt == "avif":
            return {"effort": self.avif_effort}
        if fmt == "jpeg":
            return {"optimize_coding": self.jpeg_optimize_coding, "trellis_quant": self.jpeg_trellis_quant}
        return {}

    def signature(self, fmt: str) -> str:
        """The settings that shape an ``fmt`` derivative's bytes, as text for the cache key: "" while they are
        the ones every derivative was made with before these settings existed, so those stay valid; anything
        else keys new derivatives apart, and a derivative is never served as if made with options it was not."""
        fmt = "jpeg" if fmt == "legacy" else fmt  # "legacy" is JPEG, or PNG whose encoding has no settings
        options = self.encoder_options(fmt)
        encoder = "" if options == _ORIGINAL_ENCODER.get(fmt, {}) else ",".join(
            f"{name}={str(value).lower()}" for name, value in sorted(options.items()))
        decoder = "fast_shrink_on_load=true" if self.fast_shrink_on_load else ""
        return ";".join(part for part in (encoder, decoder) if part)


_ORIGINAL_ENCODER: dict[str, dict[str, object]] = {
    "webp": {"effort": 4, "smart_subsample": False},
    "avif": {"effort": 2},
    "jpeg": {"optimize_coding": False, "trellis_quant": False},
}
