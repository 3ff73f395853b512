"""Pure geometry: output sizes for each ``fit``, and where a box sits for a gravity or a focus point."""

from __future__ import annotations

from engine.render.params import Fit, Gravity, Position

_COMPASS = {
    "center": (0.5, 0.5), "north": (0.5, 0.0), "south": (0.5, 1.0), "east": (1.0, 0.5), "west": (0.0, 0.5),
    "northeast": (1.0, 0.0), "northwest": (0.0, 0.0), "southeast": (1.0, 1.0), "southwest": (0.0, 1.0),
}


def scaled_size(src_w: int, src_h: int, w: int | None, h: int | None, fit: Fit) -> tuple[int, int]:
    """The size the source is resized to (before any cover crop or contain padding)."""
    if w is None and h is None:
        return src_w, src_h
    if w is None or h is None:
        scale = (w / src_w) if w is not None else (h / src_h)  # type: ignore[operator]
        return max(1, round(src_w * scale)), max(1, round(src_h * scale))
    if fit is Fit.FILL:
        return w, h
    grow = fit in (Fit.COVER, Fit.OUTSIDE)
    scale = max(w / src_w, h / src_h) if grow else min(w / src_w, h / src_h)
    width, height = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    if grow:  # rounding must never leave the cover image a pixel short of the box
        width, height = max(width, w), max(height, h)
    return width, height


def final_size(scaled: tuple[int, int], w: int | None, h: int | None, fit: Fit) -> tuple[int, int]:
    """The output size: the box for cover and contain (when both sides are given), else the scaled size."""
    if w is not None and h is not None and fit in (Fit.COVER, Fit.CONTAIN):
        return w, h
    return scaled


def compass_offset(where: Gravity | Position, outer: tuple[int, int], inner: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of ``inner`` placed inside ``outer`` at a compass point."""
    fx, fy = _COMPASS.get(where.value, (0.5, 0.5))
    return round((outer[0] - inner[0]) * fx), round((outer[1] - inner[1]) * fy)


def focus_offset(focus: tuple[float, float], outer: tuple[int, int], inner: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of an ``inner`` window centred on a focus point (fractions), kept inside ``outer``."""
    x = round(focus[0] * outer[0] - inner[0] / 2)
    y = round(focus[1] * outer[1] - inner[1] / 2)
    return min(max(0, x), outer[0] - inner[0]), min(max(0, y), outer[1] - inner[1])


def turn_focus(focus: tuple[float, float], rotate: int, flip: str | None) -> tuple[float, float]:
    """Where a focus point lands after a clockwise rotation and then a flip."""
    x, y = focus
    if rotate == 90:
        x, y = 1 - y, x
    elif rotate == 180:
        x, y = 1 - x, 1 - y
    elif rotate == 270:
        x, y = y, 1 - x
    if flip in ("h", "both"):
        x = 1 - x
    if flip in ("v", "both"):
        y = 1 - y
    return x, y
