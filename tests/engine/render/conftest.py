"""Render test helpers: run the pipeline on real files, and add real assets to a real engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pyvips

from engine import Engine
from engine.assets import Asset, IngestOptions
from engine.auth import Principal
from engine.render.context import Overlay, RenderContext, Source
from engine.render.params import RenderParams
from engine.render.pipeline import run
from engine.render.settings import RenderSettings

SUFFIX = {"jpeg": ".jpg"}


def decode(data: bytes) -> pyvips.Image:
    """Decode an output with every frame, to check sizes and frame counts."""
    animated = data[:4] == b"GIF8" or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    return pyvips.Image.new_from_buffer(data, "", **({"n": -1} if animated else {}))


@pytest.fixture
def render_file(tmp_path: Path) -> Callable[..., RenderContext]:
    """``render_file(data, "jpeg", out="webp", settings=..., faces=..., overlay=(data, fmt), w=..)``."""

    def render(
        data: bytes, fmt: str, *, out: str = "png", settings: RenderSettings | None = None,
        faces: Any = None, overlay: tuple[bytes, str] | None = None, **params: Any,
    ) -> RenderContext:
        path = tmp_path / f"source-{len(list(tmp_path.iterdir()))}{SUFFIX.get(fmt, '.' + fmt)}"
        path.write_bytes(data)
        mark = None
        if overlay is not None:
            mark_path = tmp_path / f"mark{SUFFIX.get(overlay[1], '.' + overlay[1])}"
            mark_path.write_bytes(overlay[0])
            mark = Overlay(path=mark_path, format=overlay[1])
        ctx = RenderContext(
            params=RenderParams.parse(params), source=Source(path=path, format=fmt, faces=faces, overlay=mark),
            settings=settings or RenderSettings(), output_format=out,
        )
        return run(ctx)

    return render


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
def add_asset(engine: Engine, owner: Principal) -> Callable[..., Any]:
    async def add(data: bytes, name: str, principal: Principal | None = None, **config: Any) -> Asset:
        options = IngestOptions.model_validate({"config": config})
        return await engine.ingest.from_stream(principal or owner, name, _chunks(data), options)

    return add
