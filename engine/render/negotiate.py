"""``format=auto``: AVIF, then WebP, then the legacy pair (JPEG, or PNG when the image has alpha).

Only formats the client names in ``Accept`` count: ``*/*`` alone gets the legacy pair, which every client
decodes. Animated sources prefer WebP, then GIF, since libvips writes no animated AVIF.
"""

from __future__ import annotations

from engine.render.params import OutputFormat

LEGACY = "legacy"


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _accepted(accept: str | None) -> set[str]:
    """Media types the client accepts (``q=0`` means it does not)."""
    accepted = set()
    for part in (accept or "").lower().split(","):
        media, *parameters = part.split(";")
        if media.strip() and _quality(parameters) > 0:
            accepted.add(media.strip())
    return accepted


def negotiate(requested: OutputFormat, accept: str | None, source_format: str) -> str:
    """The output format to make: the requested one, or ``auto`` resolved (possibly to ``legacy``)."""
    if requested is not OutputFormat.AUTO:
        return requested.value
    accepted = _accepted(accept)
    if source_format in ("gif", "webp"):
        if "image/webp" in accepted:
            return "webp"
        return "gif" if source_format == "gif" else LEGACY
    if "image/avif" in accepted:
        return "avif"
    if "image/webp" in accepted:
        return "webp"
    return LEGACY
