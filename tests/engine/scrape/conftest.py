"""Scrape fixtures: the local site, and settings that let the scraper reach it (and only it) quickly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Settings
from tests.engine.scrape.site import Site, scrape_settings


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, site: Site) -> Settings:
    return scrape_settings(tmp_path, site)
