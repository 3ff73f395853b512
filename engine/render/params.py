"""``RenderParams``: the one parser of render parameters, shared by REST, MCP and pipelines.

Query strings are parsed here (``from_query``), validated with bounds, and normalised back into a
canonical query (``to_query``) that both signed URLs and the derivative cache key are made from, so two
spellings of the same request share one cached derivative.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import InvalidInput
from engine.numerals import ascii_float, ascii_int

# Bumped when rendering changes in a way that should not reuse derivatives made before.
PIPELINE_VERSION = "1"
MAX_SIDE = 8192


class Fit(StrEnum):
    COVER = "cover"
    CONTAIN = "contain"
    FILL = "fill"
    INSIDE = "inside"
    OUTSIDE = "outside"


class Gravity(StrEnum):
    CENTER = "center"
    NORTH = "north"
    SOUTH = "south"
    EAST = "east"
    WEST = "west"
    NORTHEAST = "northeast"
    NORTHWEST = "northwest"
    SOUTHEAST = "southeast"
    SOUTHWEST = "southwest"
    ATTENTION = "attention"
    ENTROPY = "entropy"
    FACE = "face"


class Position(StrEnum):
    """Where a watermark sits (compass points only)."""

    CENTER = "center"
    NORTH = "north"
    SOUTH = "south"
    EAST = "east"
    WEST = "west"
    NORTHEAST = "northeast"
    NORTHWEST = "northwest"
    SOUTHEAST = "southeast"
    SOUTHWEST = "southwest"


class OutputFormat(StrEnum):
    AUTO = "auto"
    WEBP = "webp"
    AVIF = "avif"
    JPEG = "jpeg"
    PNG = "png"
    GIF = "gif"


class Flip(StrEnum):
    H = "h"
    V = "v"
    BOTH = "both"


_NAMED_COLOURS = {
    "white": "ffffffff", "black": "000000ff", "transparent": "00000000", "red": "ff0000ff",
    "green": "008000ff", "blue": "0000ffff", "gray": "808080ff", "grey": "808080ff",
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")

# What each parameter accepts, in words: the 400 answer names it.
VALID: dict[str, str] = {
    "w": f"an integer from 1 to {MAX_SIDE}",
    "h": f"an integer from 1 to {MAX_SIDE}",
    "fit": ", ".join(Fit),
    "gravity": ", ".join(Gravity),
    "focus": "x,y as fractions from 0 to 1, e.g. 0.5,0.3",
    "crop": "x,y,w,h in source pixels (integers, w and h at least 1)",
    "format": ", ".join(OutputFormat),
    "q": "an integer from 1 to 100, or auto",
    "dpr": "a number from 1 to 4",
    "rotate": "0, 90, 180 or 270",
    "flip": ", ".join(Flip),
    "blur": "a sigma from 0.3 to 100",
    "sharpen": "a sigma from 0.3 to 10",
    "bg": "a colour: #rgb, #rrggbb, #rrggbbaa or one of " + ", ".join(_NAMED_COLOURS),
    "strip": "true or false",
    "watermark": "text of 1 to 200 characters",
    "watermark_asset": "the id of another image asset in the same account (as_...)",
    "watermark_position": ", ".join(Position),
    "watermark_opacity": "an integer from 0 to 100",
    "watermark_size": "the text height in output pixels, 6 to 1000",
    "watermark_scale": "the overlay width as a fraction of the output width, 0.01 to 1",
    "page": "a page number from 1 (PDFs)",
    "download": "true or false",
}
_NOT_IN_CACHE_KEY = {"download"}


def _split(value: Any, count: int, name: str, number: Callable[[Any], Any]) -> Any:
    """``"0.5,0.3"`` (a query string) or ``[0.5, 0.3]`` (JSON) as a tuple of numbers, so strict checks pass."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        if len(parts) != count or not all(parts):
            raise ValueError(f"{name} needs {count} comma-separated numbers")
        return tuple(number(part) for part in parts)
    return value


def _integer(value: Any) -> int:
    """Query text must be ASCII digits (``int()`` would also take other scripts' digits); JSON numbers pass."""
    number = ascii_int(value) if isinstance(value, str) else int(value)
    if number is None:
        raise ValueError(f"{value!r} is not an integer written in ASCII digits")
    return number


def _fraction(value: Any) -> float:
    number = ascii_float(value)
    if number is None:
        raise ValueError(f"{value!r} is not a finite decimal number")
    return number


def _number(value: float) -> str:
    return f"{value:g}"


class RenderParams(BaseModel):
    """What to make of an asset. Every field is optional; the defaults return the image as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    w: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Output width in CSS pixels.")
    h: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Output height in CSS pixels.")
    fit: Fit = Field(default=Fit.COVER, description="How the image fills w x h when both are given.")
    gravity: Gravity = Field(default=Gravity.CENTER, description="What a cover crop keeps.")
    focus: tuple[float, float] | None = Field(default=None, description="Point a cover crop centres on (fractions).")
    crop: tuple[int, int, int, int] | None = Field(default=None, description="Region x,y,w,h of the source, in pixels.")
    format: OutputFormat = Field(default=OutputFormat.AUTO, description="auto picks from the Accept header.")
    q: int | Literal["auto"] = Field(default="auto", description="Encoder quality 1-100, or auto.")
    dpr: float = Field(default=1.0, ge=1, le=4, description="Device pixel ratio: multiplies w and h.")
    rotate: Literal[0, 90, 180, 270] = 0
    flip: Flip | None = None
    blur: float | None = Field(default=None, ge=0.3, le=100, description="Gaussian blur sigma.")
    sharpen: float | None = Field(default=None, ge=0.3, le=10, description="Sharpen sigma.")
    bg: str | None = Field(default=None, description="Background for contain padding and alpha flattening.")
    strip: bool = Field(default=True, description="Remove metadata (EXIF, XMP) from the output.")
    watermark: str | None = Field(default=None, min_length=1, max_length=200, description="Watermark text.")
    watermark_asset: str | None = Field(default=None, pattern=r"^as_[A-Za-z0-9]{1,64}$", description="Overlay image asset id.")
    watermark_position: Position = Position.SOUTHEAST
    watermark_opacity: int = Field(default=50, ge=0, le=100)
    watermark_size: int | None = Field(default=None, ge=6, le=1000, description="Text height in output pixels.")
    watermark_scale: float = Field(default=0.25, ge=0.01, le=1, description="Overlay width / output width.")
    page: int | None = Field(default=None, ge=1, le=100_000, description="PDF page, from 1.")
    download: bool = Field(default=False, description="Answer as an attachment with a generated filename.")

    @field_validator("focus", mode="before")
    @classmethod
    def _focus(cls, value: Any) -> Any:
        value = _split(value, 2, "focus", _fraction)
        if value is not None and not all(0 <= _fraction(v) <= 1 for v in value):
            raise ValueError("focus fractions must be between 0 and 1")
        return value

    @field_validator("crop", mode="before")
    @classmethod
    def _crop(cls, value: Any) -> Any:
        value = _split(value, 4, "crop", _integer)
        if value is not None:
            numbers = [_integer(v) for v in value]
            if numbers[0] < 0 or numbers[1] < 0 or numbers[2] < 1 or numbers[3] < 1:
                raise ValueError("crop x,y must be >= 0 and w,h >= 1")
        return value

    @field_validator("q", mode="before")
    @classmethod
    def _quality(cls, value: Any) -> Any:
        if value == "auto":
            return value
        number = ascii_int(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 100:
            raise ValueError(f"q must be {VALID['q']}, not {value!r}")
        return number

    @field_validator("rotate", mode="before")
    @classmethod
    def _rotate(cls, value: Any) -> Any:
        return ascii_int(value) if isinstance(value, str) and ascii_int(value) is not None else value

    @field_validator("bg", mode="before")
    @classmethod
    def _colour(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in _NAMED_COLOURS:
            return _NAMED_COLOURS[text]
        match = _HEX.match(text)
        if not match:
            raise ValueError(f"{value!r} is not a colour; give {VALID['bg']}")
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return digits if len(digits) == 8 else digits + "ff"

    # -- parsing and normalising ----------------------------------------------------------------

    @classmethod
    def from_query(cls, query: Mapping[str, str], *, ignore: tuple[str, ...] = ("kid", "exp", "sig")) -> "RenderParams":
        """Parse query parameters; unknown or invalid ones raise ``InvalidInput`` naming what is valid."""
        values = {k: v for k, v in query.items() if k not in ignore}
        unknown = sorted(set(values) - set(VALID))
        if unknown:
            raise InvalidInput(
                f"Unknown render parameter {unknown[0]!r}. Valid parameters: {', '.join(VALID)}.",
                code="render_param_unknown", param=unknown[0], valid=list(VALID),
            )
        return cls.parse(values)

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> "RenderParams":
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            first = error.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "params"
            valid = VALID.get(name, "see the documented render parameters")
            raise InvalidInput(
                f"Invalid render parameter {name}={values.get(name)!r}: {first['msg']}. Valid: {valid}.",
                code="render_param_invalid", param=name, valid=valid,
            ) from error

    def to_query(self) -> dict[str, str]:
        """The canonical query: only parameters that differ from the defaults, as strings, sorted."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(exclude_defaults=True).items():
            out[name] = _to_text(value)
        return dict(sorted(out.items()))

    def cache_key(self, resolved_format: str, encoder: str = "") -> str:
        """The derivative key: the normalised parameters plus the format ``auto`` resolved to, and the
        encoder settings of that format (``EncoderSettings.signature``), so that changing them does not serve
        derivatives encoded the old way."""
        query = {k: v for k, v in self.to_query().items() if k not in _NOT_IN_CACHE_KEY}
        query["format"] = resolved_format
        canonical = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        suffix = f"#{encoder}" if encoder else ""
        return hashlib.sha256(f"v{PIPELINE_VERSION}?{canonical}{suffix}".encode()).hexdigest()

    @property
    def has_watermark(self) -> bool:
        return self.watermark is not None or self.watermark_asset is not None


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, tuple):
        return ",".join(_to_text(v) for v in value)
    if isinstance(value, StrEnum):
        return value.value
    return str(value)
