"""SVG sources are read into memory and parsed from a buffer, so no reference can reach a file or host."""

from __future__ import annotations

from pathlib import Path

from engine.errors import PicshaError
from engine.media.decoders import MAX_SVG_BYTES


def svg_bytes(path: Path) -> bytes:
    """The SVG's bytes. A buffer has no base location, so relative references resolve to nothing."""
    size = path.stat().st_size
    if size > MAX_SVG_BYTES:
        raise PicshaError(
            f"SVG sources over {MAX_SVG_BYTES} bytes are not rendered.", code="render_input_too_large", status=422,
            limit=MAX_SVG_BYTES,
        )
    return path.read_bytes()
