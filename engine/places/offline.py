"""Offline reverse geocoding against the GeoNames cities that ``reverse_geocoder`` ships."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel


class Place(BaseModel):
    lat: float
    lon: float
    label: str
    city: str | None = None
    region: str | None = None
    country_code: str | None = None


class OfflineGeocoder:
    """Loads the city table on first use (about a second), then answers in microseconds."""

    def __init__(self) -> None:
        self._geocoder: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._geocoder is None:
                import reverse_geocoder

                self._geocoder = reverse_geocoder.RGeocoder(mode=1, verbose=False)
        return self._geocoder

    def lookup(self, lat: float, lon: float) -> Place:
        found = self._load().query([(lat, lon)])[0]
        parts = [found.get("name"), found.get("admin1"), found.get("cc")]
        return Place(
            lat=lat, lon=lon, label=", ".join(p for p in parts if p),
            city=found.get("name") or None, region=found.get("admin1") or None, country_code=found.get("cc") or None,
        )
