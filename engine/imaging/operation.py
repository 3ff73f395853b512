"""``Operation``: one image operation as the engine runs it (the registry adds its name, words and cost)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel

from engine.imaging.items import RASTER_FORMATS, Gives, Item, Result, Takes
from engine.render.settings import RenderSettings

S = TypeVar("S", bound=BaseModel)


class Wants(StrEnum):
    PICTURE = "picture"  # decoded (checked against the pixel limits); consecutive steps stay in memory
    FILE = "file"  # the file itself (a PDF, an SVG, a lossless wrap into PDF): a picture is encoded first
    ANY = "any"  # either, as given: render-backed operations read a file with shrink-on-load


def _no_progress(_fraction: float, _message: str) -> None:
    return None


@dataclass(frozen=True)
class Workbench:
    """What an operation may use besides its inputs and settings. Operations run in a worker thread."""

    render: RenderSettings
    progress: Callable[[float, str], None] = _no_progress  # fraction 0-1 of this step, message
    models: dict[str, str] = field(default_factory=dict)  # operator-set model paths by name (AI tools)
    model_threads: int = 2  # intra-op threads of a model session (ImagingSettings.model_threads)
    tile_px: int = 256  # upscale's tile side, input pixels (ImagingSettings.upscale_tile_px)


@dataclass(frozen=True)
class Operation(Generic[S]):
    """``apply(inputs, settings, bench)`` does the work on inputs of the declared count and kind."""

    settings: type[S]
    takes: Takes
    gives: Gives
    apply: Callable[[Sequence[Item], S, Workbench], Result]
    wants: Wants = Wants.PICTURE
    formats: tuple[str, ...] = RASTER_FORMATS
    streams: bool = False
    """Reads its picture once, top to bottom (point operations, frames): an upright file streams into it
    instead of being decoded into memory first."""
    model: str | None = None
    """The model this operation loads (a key of ``Workbench.models``); without it the operation is unavailable."""
    min_files: int = 2
    """Takes.MANY: the fewest files it takes (two by default; image-to-pdf makes a PDF of one image too)."""
