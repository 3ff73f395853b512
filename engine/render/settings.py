"""Render settings: the worker pool, the pixel limits and the responsive sizes made at ingest."""

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
    vips_cache_max_mb: int = Field(default=64, ge=0, description="libvips operation cache memory.")
    memo_ttl_s: float = Field(default=10.0, ge=0, description="How long a cache hit is remembered in memory (0: off).")
    memo_size: int = Field(default=10_000, ge=0, description="Cache hits remembered in memory.")
    hot_bytes_mb: int = Field(default=32, ge=0, description="Memory for the bytes of small, often served renders.")
    deferred_max_mb: int = Field(
        default=64, ge=0,
        description="New renders answered before their blob is stored hold at most this much memory; past it "
        "(a slow store), a render is stored before it is answered.",
    )
