"""``RenderContext``: the one object every render step reads and updates (image plus derived geometry)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyvips

from engine.errors import PicshaError
from engine.faces import FaceBox
from engine.render.params import RenderParams
from engine.render.settings import RenderSettings


@dataclass
class Overlay:
    """A watermark image: another asset's file."""

    path: Path
    format: str


@dataclass
class Source:
    """What is rendered: a local file of an allow-listed, sniffed format, or an image already decoded.

    ``image`` is set when an image tool's earlier step left its result in memory: it is used as it is (no
    file is read) and ``format`` names what it was decoded from.
    """

    path: Path
    format: str
    faces: list[FaceBox] | None = None  # from the asset's analysis, in source pixels; None = not analysed
    overlay: Overlay | None = None
    image: pyvips.Image | None = None


@dataclass
class RenderContext:
    params: RenderParams
    source: Source
    settings: RenderSettings
    output_format: str  # webp, avif, jpeg, png, gif, or "legacy" (jpeg, png if the image has alpha)
    deadline: float = field(default_factory=lambda: time.monotonic() + 60)
    # filled in by the steps, in order
    full: tuple[int, int] = (1, 1)  # oriented size of the whole source (source pixels)
    src_w: int = 0  # the region rendered: the whole source, or the crop
    src_h: int = 0
    frames: int = 1  # frames kept (animated GIF/WebP); 1 otherwise
    scaled: tuple[int, int] = (0, 0)  # size the source is resized to
    target: tuple[int, int] = (0, 0)  # final output size
    image: pyvips.Image | None = None
    focus: tuple[float, float] | None = None  # point a cover crop centres on, as fractions of ``image``
    faces_found: int = 0
    data: bytes = b""
    content_type: str = ""

    @property
    def img(self) -> pyvips.Image:
        if self.image is None:
            raise RuntimeError("no image loaded yet")
        return self.image

    @property
    def animated(self) -> bool:
        return self.frames > 1

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise PicshaError("The render took too long and was stopped.", code="render_timeout", status=503)

    def per_frame(self, operation: Callable[[pyvips.Image], pyvips.Image]) -> None:
        """Apply an operation to each frame of an animation (or to the one image)."""
        image = self.img
        if not self.animated:
            self.image = operation(image)
            return
        page_height = image.get("page-height")
        frames = [operation(image.crop(0, i * page_height, image.width, page_height)) for i in range(self.frames)]
        joined = pyvips.Image.arrayjoin(frames, across=1).copy()
        joined.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
        for name in ("delay", "loop", "n-pages"):
            if image.get_typeof(name):
                joined.set_type(image.get_typeof(name), name, image.get(name))
        self.image = joined

    @property
    def frame_size(self) -> tuple[int, int]:
        image = self.img
        height = image.get("page-height") if self.animated else image.height
        return image.width, height
