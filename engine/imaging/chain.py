"""Run image operations: one tool, or a file pipeline where each step's output is the next one's input.

Pictures stay decoded in memory from step to step; a file is written once, at the end (or before a step
that needs the file itself). Render-backed operations (resize, crop, rotate, watermarks) run the render
steps on the file path when they come first, so the decoder shrinks on load as a render does.
"""

from __future__ import annotations

import math
from dataclasses import replace
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyvips
from pydantic import BaseModel

from engine.errors import InvalidInput, PicshaError, UnsupportedMediaType
from engine.ingest.sniff import ALLOWED_FORMATS, sniff
from engine.imaging.items import (
    MEDIA_TYPES, Encoding, ImageFile, Item, Picture, Result, Takes, ToolFile, with_extension,
)
from engine.imaging.models import require_models
from engine.imaging.operation import Operation, Wants, Workbench
from engine.render import pipeline as render_pipeline
from engine.render.context import Overlay, RenderContext, Source
from engine.render.params import RenderParams
from engine.render.steps.inspect_source import inspect_source
from engine.render.settings import RenderSettings

RENDER_WRITES = ("webp", "avif", "jpeg", "png", "gif")
WRITABLE = (*RENDER_WRITES, "tiff")
_DEFAULT_OUTPUT = {"heic": "jpeg", "svg": "png", "pdf": "png"}
TARGET_TOLERANCE = 0.05
MAX_TARGET_ENCODES = 6
LOG_SIZE_PER_QUALITY = 0.035  # JPEG, WebP and AVIF grow by ~3.5% per quality point between q 20 and 90

Step = tuple[Operation[Any], BaseModel]
_FINISH_SETTINGS = RenderSettings()  # flatten and encode read no limits: the picture was checked when made


def render_on(item: Item, params: RenderParams, bench: Workbench, *, overlay: Overlay | None = None) -> Picture:
    """The render steps (no encoding) on a file or a picture: the one implementation of resize, crop,
    rotate, blur and watermarks, shared with ``/v1/assets/{id}/render``. ``overlay`` is a watermark image
    file (checked like a watermark asset)."""
    if isinstance(item, ToolFile):
        source = Source(path=item.path, format=item.format, overlay=overlay)
        picture_of = lambda image: Picture(image, item.filename, Encoding(output_format(item.format)))  # noqa: E731
    else:
        source = Source(path=Path(item.filename), format=item.encoding.format, image=item.image, overlay=overlay)
        picture_of = item.with_image
    ctx = RenderContext(params=params, source=source, settings=bench.render, output_format=output_format(source.format))
    try:
        render_pipeline.transform(ctx)
    except pyvips.Error as error:
        raise undecodable(error) from error
    return picture_of(ctx.img)


def output_format(source_format: str) -> str:
    """What a tool writes unless told otherwise: the input's own format where it can be written."""
    return source_format if source_format in WRITABLE else _DEFAULT_OUTPUT.get(source_format, "png")


STREAMED_FORMATS = ("jpeg", "png", "tiff")


def streamed(item: Item, bench: Workbench) -> Picture:
    """For operations that only re-encode: an upright JPEG, PNG or TIFF is checked from its header, then read
    once as it is written (no copy of its pixels in memory); anything else is decoded as usual."""
    if isinstance(item, Picture):
        return item
    if item.format in STREAMED_FORMATS:
        size_of_header(item, bench)  # the allow-list and pixel limits, from the header
        image = pyvips.Image.new_from_file(str(item.path), access="sequential")
        if (image.get("orientation") if image.get_typeof("orientation") else 1) in (0, 1):
            return Picture(image, item.filename, Encoding(output_format(item.format)), sequential=True)
    return decode(item, bench)


def materialized(picture: Picture) -> Picture:
    """A streamed picture copied into memory, for a step that reads it more than once or out of order."""
    if not picture.sequential:
        return picture
    return replace(picture, image=picture.image.copy_memory(), sequential=False)


def size_of_header(file: ToolFile, bench: Workbench) -> tuple[int, int]:
    """Width and height after EXIF orientation, read from the header with the render's checks."""
    ctx = RenderContext(params=RenderParams(), source=Source(path=file.path, format=file.format),
                        settings=bench.render, output_format="png")
    try:
        inspect_source(ctx)
    except pyvips.Error as error:  # a header libvips cannot parse: a damaged file, not a server fault
        raise undecodable(error) from error
    return ctx.full


def decode(file: ToolFile, bench: Workbench) -> Picture:
    """The whole image, decoded with the render checks (allow-list, pixel limits, EXIF orientation)."""
    return render_on(file, RenderParams(), bench)


def encode(picture: Picture) -> ImageFile:
    """Write a picture in its encoding (a target size searches the quality)."""
    encoding = picture.encoding
    if encoding.target_kb is not None:
        data = _fit_target(picture, encoding.target_kb * 1024)
    else:
        data = _write(picture, encoding.quality)
    return ImageFile(data, with_extension(picture.filename, encoding.format), MEDIA_TYPES[encoding.format])


def _write(picture: Picture, quality: int | None) -> bytes:
    encoding = picture.encoding
    if encoding.format not in WRITABLE:
        raise InvalidInput(f"Cannot write {encoding.format!r}. Formats: {', '.join(WRITABLE)}.",
                           code="tool_settings_invalid", valid=list(WRITABLE))
    image = picture.image
    keep = pyvips.enums.ForeignKeep.ICC if encoding.strip else pyvips.enums.ForeignKeep.ALL
    if encoding.format == "tiff":
        return image.write_to_buffer(".tiff", compression="deflate", keep=keep)
    if encoding.format == "png" and encoding.palette:
        flat = image.colourspace("srgb").cast("uchar") if image.interpretation not in ("srgb", "b-w") else image
        return flat.write_to_buffer(".png", palette=True, Q=quality or 80, compression=9, keep=keep)
    params = RenderParams(q=quality if quality is not None else "auto", strip=encoding.strip)
    ctx = RenderContext(params=params, source=Source(path=Path(picture.filename), format=encoding.format, image=image),
                        settings=_FINISH_SETTINGS, output_format=encoding.format)
    ctx.image = image
    page = image.get("page-height") if image.get_typeof("page-height") else 0
    if 0 < page < image.height and image.height % page == 0:  # an animation's frames, stacked: written as frames
        ctx.frames = image.height // page
    render_pipeline.finish(ctx)
    return ctx.data


def _fit_target(picture: Picture, target: int) -> bytes:
    """The best quality whose file is at most ``target`` bytes, searched on log(size) (at most six encodes):
    a first guess, a step by the typical slope, then interpolation inside the bracket. The smallest file when
    even the lowest quality is over."""
    if picture.encoding.format not in ("jpeg", "webp", "avif"):
        raise InvalidInput("targetSizeKB needs a lossy format: jpeg, webp or avif.", code="tool_settings_invalid",
                           valid=["jpeg", "webp", "avif"])
    tried: dict[int, int] = {}
    written: dict[int, bytes] = {}
    bracketed = 0
    quality = 80
    for _ in range(MAX_TARGET_ENCODES):
        written[quality] = _write(picture, quality)
        tried[quality] = size = len(written[quality])
        if target * (1 - TARGET_TOLERANCE) <= size <= target:
            break
        fits = [q for q, n in tried.items() if n <= target]
        over = [q for q, n in tried.items() if n > target]
        if fits and over:
            low, high = max(fits), min(over)
            span = math.log(tried[high] / tried[low])
            guess = low + (high - low) * math.log(target / tried[low]) / span if span > 0 else (low + high) / 2
            bracketed += 1
            if bracketed % 2 == 0:  # every other try halves the bracket: interpolation alone can crawl
                guess = (low + high) / 2
            quality = min(max(round(guess), low + 1), high - 1)
        else:  # one side known: step by the slope of log(size) per quality point seen so far (else the usual
            # one), a quarter further, so the next try most likely lands on the other side and closes a bracket
            slope = LOG_SIZE_PER_QUALITY
            if len(tried) >= 2:
                (q1, n1), (q2, n2) = list(tried.items())[-2:]
                slope = max(math.log(n2 / n1) / (q2 - q1), 0.005) if q2 != q1 and n1 > 0 and n2 > 0 else slope
            step = round(1.25 * math.log(target / size) / slope)
            step = min(step, -1) if size > target else max(step, 1)
            # never below a quarter of the last quality in one step: the lowest qualities grow unevenly
            quality = min(max(quality + step, max(1, quality // 4)), 100)
        if quality in tried:
            break
    fitting = [q for q, n in tried.items() if n <= target]
    best = max(fitting) if fitting else min(tried, key=tried.__getitem__)
    return written[best]


def undecodable(error: pyvips.Error) -> PicshaError:
    return PicshaError("The image could not be decoded; it may be damaged.", code="tool_input_unreadable", status=422,
                       detail=str(error).splitlines()[0][:200])


def sniffed(path: Path, filename: str) -> ToolFile:
    """A file as a tool input: its format read from its bytes (415 naming the formats when unknown)."""
    kind = sniff(path, filename)
    if kind is None:
        raise UnsupportedMediaType(f"{filename!r} is not a file type Picsha reads. Types: {ALLOWED_FORMATS}.",
                                   code="tool_input_unsupported")
    return ToolFile(path=path, filename=filename, format=kind.format)


def check_inputs(operation: Operation[Any], files: Sequence[ToolFile], tool_id: str, *, max_files: int) -> None:
    """Count and kinds of the files a tool is given (400 naming what it takes)."""
    count = len(files)
    fewest = operation.min_files
    wanted = {Takes.NONE: (0, 1), Takes.ONE: (1, 1), Takes.TWO: (2, 2), Takes.ONE_OR_TWO: (1, 2),
              Takes.MANY: (fewest, max_files)}[operation.takes]
    if not wanted[0] <= count <= wanted[1]:
        says = {Takes.NONE: "no file (or one optional file)", Takes.ONE: "one file",
                Takes.TWO: "two files (the image, then the second file)",
                Takes.ONE_OR_TWO: "one file, or two (the image, then the second file)",
                Takes.MANY: f"{fewest} to {max_files} files"}[operation.takes]
        raise InvalidInput(f"{tool_id} takes {says}; it was given {count}.", code="tool_input_count", takes=operation.takes.value)
    for file in files:
        if file.format not in operation.formats:  # a file Picsha reads, but not one this tool takes: a 400
            raise InvalidInput(
                f"{tool_id} cannot use {file.filename!r} ({file.format}). It takes: {', '.join(operation.formats)}.",
                code="tool_input_unsupported", valid=list(operation.formats),
            )


def _prepared(operation: Operation[Any], items: Sequence[Item], bench: Workbench, work_dir: Path) -> list[Item]:
    if operation.wants is Wants.PICTURE and operation.streams:
        return [streamed(item, bench) for item in items]
    if operation.wants is Wants.PICTURE:
        return [decode(item, bench) if isinstance(item, ToolFile) else materialized(item) for item in items]
    if operation.wants is Wants.FILE:
        return [_to_file(item, work_dir) if isinstance(item, Picture) else item for item in items]
    return list(items)  # Wants.ANY: the operation reads either (render-backed ones shrink files on load)


def _to_file(picture: Picture, work_dir: Path) -> ToolFile:
    written = encode(picture)
    path = work_dir / f"step-{uuid.uuid4().hex}-{written.filename}"
    path.write_bytes(written.data)
    return ToolFile(path=path, filename=written.filename, format=picture.encoding.format)


def run(steps: Sequence[Step], files: Sequence[ToolFile], bench: Workbench, work_dir: Path) -> list[ImageFile] | BaseModel:
    """Run the steps on the files; the answer is the written files (one or several) or the last step's JSON."""
    for operation, settings in steps:  # a missing model fails the call before any step runs
        require_models(operation, bench.models, settings)
    current: list[Item] = list(files)
    for number, (operation, settings) in enumerate(steps, start=1):
        alone = operation.takes in (Takes.ONE, Takes.ONE_OR_TWO)  # later steps see each file alone
        if number > 1 and not alone:
            raise InvalidInput(f"Step {number} takes {operation.takes.value} files; only a first step may.",
                               code="pipeline_step_invalid")
        groups = [current] if number == 1 or not alone else [[item] for item in current]
        produced: list[Item] = []
        for group in groups:
            result = operation.apply(_prepared(operation, group, bench, work_dir), settings, bench)
            if isinstance(result, BaseModel):
                if number != len(steps):
                    raise InvalidInput(f"Step {number} gives JSON, so it can only be the last step.",
                                       code="pipeline_step_invalid")
                return result
            produced += _items(result, work_dir)
        current = produced
    return [encode(item) if isinstance(item, Picture) else _read(item) for item in current]


def _items(result: Result, work_dir: Path) -> list[Item]:
    outputs = result if isinstance(result, list) else [result]
    items: list[Item] = []
    for output in outputs:
        if isinstance(output, ImageFile):  # bytes already written (ICO, PDF, SVG): kept as a file for later steps
            path = work_dir / f"out-{uuid.uuid4().hex}-{output.filename}"
            path.write_bytes(output.data)
            fmt = next((name for name, media in MEDIA_TYPES.items() if media == output.media_type), "bin")
            items.append(ToolFile(path=path, filename=output.filename, format=fmt))
        else:
            items.append(output)  # type: ignore[arg-type]
    return items


def _read(file: ToolFile) -> ImageFile:
    return ImageFile(file.path.read_bytes(), file.filename, MEDIA_TYPES.get(file.format, "application/octet-stream"))
