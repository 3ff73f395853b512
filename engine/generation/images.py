"""A provider's images, made safe to store: fetched at once (through the outbound guard), staged, sniffed and
checked against the pixel limit. All of one answer are checked before any is stored: an answer with one bad
image is the provider failing, not half a result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from engine.errors import PicshaError
from engine.generation.providers.base import ImageData, ProviderFailed
from engine.ingest.fetch import fetch_url
from engine.ingest.sniff import FileKind, sniff
from engine.ingest.staging import StagedFile, stage
from engine.media.probe import probe
from engine.settings import IngestSettings

RASTER_FORMATS = ("png", "jpeg", "webp", "avif")


@dataclass
class CheckedImage:
    staged: StagedFile
    kind: FileKind
    width: int | None
    height: int | None
    seed: int | None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _staged(image: ImageData, settings: IngestSettings, work_dir: Path, max_bytes: int) -> StagedFile:
    if image.data is not None:
        return await stage(_once(image.data), work_dir, max_bytes=max_bytes)
    assert image.url is not None
    async with fetch_url(image.url, settings) as body:
        return await stage(body.chunks, work_dir, max_bytes=max_bytes)


def _check(staged: StagedFile, settings: IngestSettings) -> tuple[FileKind, int | None, int | None]:
    kind = sniff(staged.path, "generated", archive=settings.archive_limits())
    if kind is None or kind.format not in RASTER_FORMATS:
        found = kind.format if kind else "not an image"
        raise ProviderFailed(f"answered a file that is {found}, not one of {', '.join(RASTER_FORMATS)}")
    info = probe(staged.path, kind, max_pixels=settings.max_pixels)
    return kind, info.width, info.height


async def checked_images(images: list[ImageData], *, settings: IngestSettings, work_dir: Path,
                         max_bytes: int, limiter: anyio.CapacityLimiter) -> list[CheckedImage]:
    """Every image staged and checked, or ``ProviderFailed`` with nothing left behind."""
    done: list[CheckedImage] = []
    try:
        for image in images:
            staged = await _staged(image, settings, work_dir, max_bytes)
            try:
                kind, width, height = await anyio.to_thread.run_sync(_check, staged, settings, limiter=limiter)
            except BaseException:
                staged.discard()
                raise
            done.append(CheckedImage(staged=staged, kind=kind, width=width, height=height, seed=image.seed))
    except PicshaError as error:
        for checked in done:
            checked.staged.discard()
        source = "its result URL" if any(image.url for image in images) else "its image"
        raise ProviderFailed(f"{source} was refused: {error.message}") from None
    except BaseException:
        for checked in done:
            checked.staged.discard()
        raise
    return done
