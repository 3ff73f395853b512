"""Scrape fixtures: the local site, and settings that let the scraper reach it (and only it) quickly."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from engine import Settings
from tests.engine.scrape.site import Site
from tests.factories import make_settings


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


def scrape_settings(tmp_path: Path, site: Site) -> Settings:
    """Loopback admitted for the site's address and port only (not for 127.0.0.2, not for private networks),
    politeness delays tiny, the caps small enough for the site's huge and slow pages."""
    settings = make_settings(tmp_path)
    settings.ingest.fetch_allow_private = False
    settings.ingest.fetch_allowed_networks = [ip_network("127.0.0.1/32")]
    settings.ingest.fetch_allowed_ports = [80, 443, site.port]
    settings.scrape.delay_s = 0.0
    settings.scrape.request_timeout_s = 1.0
    settings.scrape.max_page_bytes = 64 * 1024
    settings.scrape.max_files_cap = 100
    return settings


@pytest.fixture
def settings(tmp_path: Path, site: Site) -> Settings:
    return scrape_settings(tmp_path, site)
