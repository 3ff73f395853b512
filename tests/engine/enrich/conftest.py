"""Real photos shipped by installed packages, text rendered for OCR, and engines with analysis turned on."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from engine import Engine, Settings
from engine.enrich.settings import AnalysisDefaults
from tests.factories import make_settings


def photo(name: str) -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(getattr(data, name)()[:, :, :3])


def jpeg(array: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "JPEG", quality=quality)
    return out.getvalue()


def text_image(lines: list[str], size: tuple[int, int] = (900, 260)) -> np.ndarray:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    for row, line in enumerate(lines):
        draw.text((30, 30 + row * 70), line, fill="black", font=font)
    return np.asarray(image)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return photo("astronaut")


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    return photo("chelsea")


def analysis_settings(tmp_path: Path, **flags: bool) -> Settings:
    settings = make_settings(tmp_path)
    defaults = {flag: False for flag in AnalysisDefaults.model_fields} | flags
    settings.enrich.defaults = AnalysisDefaults(**defaults)
    return settings


@pytest.fixture
async def brain(tmp_path: Path) -> AsyncIterator[Engine]:
    """An engine whose uploads run every analysis by default."""
    settings = analysis_settings(tmp_path, auto_tag=True, auto_summarize=True, vectorize=True, safe_search=True,
                                 ocr=True, location_lookup=True)
    async with Engine.open(settings) as opened:
        yield opened
