"""Encoder settings (WebP/AVIF effort, JPEG coding) reach libvips, are validated, and key derivatives apart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvips
from pydantic import ValidationError

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.render import RenderParams
from engine.render.context import RenderContext
from engine.render.settings import RenderSettings
from engine.settings import Settings
from tests.engine.render.conftest import decode
from tests.factories import image_bytes, make_settings

Render = Callable[..., RenderContext]
Add = Callable[..., Any]


def _photo(width: int = 480, height: int = 360) -> bytes:
    """Gradients with noise: detail an encoder's effort changes the bytes of."""
    noise = pyvips.Image.gaussnoise(width, height, sigma=20, mean=0)
    x = pyvips.Image.xyz(width, height)
    bands = [(x[0] * 255 / width + noise).cast("uchar"), (x[1] * 255 / height + noise).cast("uchar"),
             (noise + 128).cast("uchar")]
    return bands[0].bandjoin(bands[1:]).copy(interpretation="srgb").jpegsave_buffer(Q=92)


def _pixels(data: bytes) -> np.ndarray:
    image = decode(data)
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))


def test_webp_effort_reaches_the_encoder(render_file: Render) -> None:
    source = _photo()
    fastest = render_file(source, "jpeg", out="webp", settings=RenderSettings(webp_effort=0), w=320).data
    default = render_file(source, "jpeg", out="webp", w=320).data
    assert fastest[8:12] == default[8:12] == b"WEBP" and fastest != default
    assert decode(fastest).width == decode(default).width == 320


def test_avif_effort_reaches_the_encoder(render_file: Render) -> None:
    source = _photo(240, 180)
    quick = render_file(source, "jpeg", out="avif", settings=RenderSettings(avif_effort=0), w=160).data
    default = render_file(source, "jpeg", out="avif", w=160).data
    assert quick[4:12] == default[4:12] == b"ftypavif" and quick != default


def test_optimised_jpeg_coding_keeps_the_pixels_and_saves_bytes(render_file: Render) -> None:
    source = _photo()
    plain = render_file(source, "jpeg", out="jpeg", w=320).data
    optimised = render_file(source, "jpeg", out="jpeg", settings=RenderSettings(jpeg_optimize_coding=True), w=320).data
    assert len(optimised) < len(plain)
    assert np.array_equal(_pixels(plain), _pixels(optimised)), "Huffman tables change the bytes, never the pixels"


def _shrunk_at_load(source: bytes, shrink: int, width: int) -> np.ndarray:
    image = pyvips.Image.new_from_buffer(source, "", shrink=shrink)
    return _pixels(image.thumbnail_image(width, height=round(image.height * width / image.width), size="force")
                   .pngsave_buffer())


@pytest.mark.parametrize("w, fast_shrink, thumbnail_shrink", [(200, 8, 4), (400, 4, 2), (300, 4, 2)])
def test_fast_shrink_on_load_decodes_a_jpeg_as_small_as_the_output_allows(
        render_file: Render, w: int, fast_shrink: int, thumbnail_shrink: int) -> None:
    """1600 px to 200 px is 8x: libvips' ``thumbnail`` decodes at 1/4 (a factor of two left for the resize),
    the fast path at 1/8 and resizes the rest, as sharp does."""
    source = _photo(1600, 1200)
    default = _pixels(render_file(source, "jpeg", out="png", w=w).data)
    fast = _pixels(render_file(source, "jpeg", out="png", settings=RenderSettings(fast_shrink_on_load=True), w=w).data)
    assert fast.shape == default.shape == (w * 3 // 4, w, 3)
    assert np.array_equal(fast, _shrunk_at_load(source, fast_shrink, w))
    assert np.abs(default.astype(int) - _shrunk_at_load(source, thumbnail_shrink, w)).max() <= 1
    assert not np.array_equal(fast, default)


def test_fast_shrink_on_load_leaves_what_is_not_a_jpeg_shrink_alone(render_file: Render) -> None:
    png = pyvips.Image.new_from_buffer(_photo(1600, 1200), "").pngsave_buffer()
    fast = RenderSettings(fast_shrink_on_load=True)
    assert render_file(png, "png", out="png", settings=fast, w=200).data == render_file(png, "png", out="png", w=200).data


@pytest.mark.parametrize("field, bad", [
    ("webp_effort", 7), ("webp_effort", -1), ("avif_effort", 10), ("vips_concurrency", -1), ("vips_concurrency", 65),
])
def test_out_of_range_encoder_settings_are_refused(field: str, bad: int) -> None:
    with pytest.raises(ValidationError):
        RenderSettings(**{field: bad})


def test_encoder_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PICSHA_RENDER__WEBP_EFFORT", "2")
    monkeypatch.setenv("PICSHA_RENDER__JPEG_OPTIMIZE_CODING", "true")
    monkeypatch.setenv("PICSHA_RENDER__FAST_SHRINK_ON_LOAD", "true")
    settings = Settings(data_dir=tmp_path)
    assert settings.render.webp_effort == 2 and settings.render.jpeg_optimize_coding
    assert settings.render.fast_shrink_on_load
    monkeypatch.setenv("PICSHA_RENDER__WEBP_EFFORT", "9")
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path)


def test_the_original_encoder_options_keep_the_keys_derivatives_were_made_with() -> None:
    params = RenderParams(w=200, format="webp")
    default = RenderSettings()
    assert all(default.signature(fmt) == "" for fmt in ("webp", "avif", "jpeg", "png", "legacy"))
    assert params.cache_key("webp", default.signature("webp")) == params.cache_key("webp")
    changed = RenderSettings(webp_effort=2, jpeg_optimize_coding=True)
    assert changed.signature("webp") != "" and changed.signature("avif") == ""
    decoded = RenderSettings(fast_shrink_on_load=True)  # other pixels in every format
    assert all(decoded.signature(fmt) != "" for fmt in ("webp", "avif", "jpeg", "png"))
    assert RenderSettings(fast_shrink_on_load=True, webp_effort=2).signature("webp") not in (
        decoded.signature("webp"), changed.signature("webp"))
    assert changed.signature("legacy") == changed.signature("jpeg") != ""
    assert params.cache_key("webp", changed.signature("webp")) != params.cache_key("webp")


async def test_a_derivative_made_with_other_encoder_settings_is_not_served(
    engine: Engine, owner: Principal, add_asset: Add
) -> None:
    asset = await add_asset(_photo(), "photo.jpg")
    params = RenderParams(w=300, format="webp")
    before = await engine.render.render(asset.id, params, principal=owner, accept=None)
    png = await engine.render.render(asset.id, RenderParams(w=300, format="png"), principal=owner, accept=None)
    runs = engine.render.pool.runs
    engine.render.settings = engine.render.settings.model_copy(update={"webp_effort": 0})  # as after a restart
    after = await engine.render.render(asset.id, params, principal=owner, accept=None)
    assert not after.cached and engine.render.pool.runs == runs + 1
    assert after.content.blob_key != before.content.blob_key
    assert await engine.store.read_bytes(after.content.blob_key) != await engine.store.read_bytes(before.content.blob_key)
    again = await engine.render.render(asset.id, RenderParams(w=300, format="png"), principal=owner, accept=None)
    assert again.cached and again.content.blob_key == png.content.blob_key, "PNG has no encoder settings to change"


async def test_vips_concurrency_sets_the_libvips_threads(tmp_path: Path) -> None:
    before = pyvips.concurrency_get()
    base = make_settings(tmp_path)
    settings = base.model_copy(update={"render": base.render.model_copy(update={"vips_concurrency": 1})})
    try:
        async with Engine.open(settings) as engine:
            assert pyvips.concurrency_get() == 1
            owner = Principal(account_id=engine.owner_account_id)

            async def chunks() -> AsyncIterator[bytes]:
                yield image_bytes(640, 480)

            asset = await engine.ingest.from_stream(owner, "a.jpg", chunks(), IngestOptions())
            result = await engine.render.render(asset.id, RenderParams(w=100, format="webp"), principal=owner, accept=None)
            assert result.width == 100
    finally:
        pyvips.concurrency_set(before)
