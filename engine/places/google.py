"""Google Maps reverse geocoding, used only when a key is configured (the offline table is the default).

The Geocoding API takes its key in the query string, so every request URL holds the secret. httpx2's
errors quote the URL; they are turned here into messages without it (and without their cause attached),
because an enrichment step's error is stored in the job and returned by ``GET /v1/jobs/{id}``.
"""

from __future__ import annotations

from typing import Any

import httpx2
from pydantic import BaseModel, Field, SecretStr
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from engine.errors import UpstreamError
from engine.places.offline import Place


class GoogleMapsSettings(BaseModel):
    api_key: SecretStr | None = Field(default=None, description="Turns Google reverse geocoding on.")
    base_url: str = "https://maps.googleapis.com/maps/api/geocode/json"
    timeout_s: float = Field(default=10.0, gt=0)
    attempts: int = Field(default=3, ge=1, le=10)
    price_usd: float = Field(default=0.005, ge=0, description="Charged per lookup (Google's list price).")


def _retryable(error: BaseException) -> bool:
    if isinstance(error, httpx2.HTTPStatusError):
        return error.response.status_code == 429 or error.response.status_code >= 500
    return isinstance(error, httpx2.TransportError)


class GoogleGeocoder:
    def __init__(self, settings: GoogleMapsSettings, client: httpx2.AsyncClient | None = None):
        if settings.api_key is None:
            raise ValueError("GoogleGeocoder needs google_maps.api_key")
        self.settings = settings
        self.client = client or httpx2.AsyncClient(timeout=settings.timeout_s)

    @property
    def _key(self) -> str:
        return self.settings.api_key.get_secret_value() if self.settings.api_key else ""

    def _failed(self, message: str) -> UpstreamError:
        """An error whose message can be stored and shown: the key is never in it."""
        return UpstreamError(message.replace(self._key, "[redacted]") if self._key else message, code="geocoder_failed")

    async def _get(self, lat: float, lon: float) -> dict[str, Any]:
        retrying = AsyncRetrying(stop=stop_after_attempt(self.settings.attempts), reraise=True,
                                 wait=wait_exponential(multiplier=0.5, max=8), retry=retry_if_exception(_retryable))
        try:
            async for attempt in retrying:
                with attempt:
                    params = {"latlng": f"{lat},{lon}", "key": self._key}
                    response = await self.client.get(self.settings.base_url, params=params)
                    response.raise_for_status()
            return response.json()
        except httpx2.HTTPStatusError as error:
            failure = self._failed(f"Google Maps answered HTTP {error.response.status_code}.")
        except httpx2.HTTPError as error:
            failure = self._failed(f"Google Maps could not be reached ({type(error).__name__}).")
        except ValueError:
            failure = self._failed("Google Maps answered something that is not JSON.")
        raise failure  # outside the except blocks: no cause or context that quotes the URL

    async def lookup(self, lat: float, lon: float) -> Place | None:
        """The best address Google has for the point, or None when it knows none (ZERO_RESULTS)."""
        body = await self._get(lat, lon)
        status = body.get("status")
        if status == "ZERO_RESULTS":
            return None
        if status != "OK":
            raise self._failed(f"Google Maps answered {status}: {body.get('error_message', '')}".strip())
        best = body["results"][0]
        parts = {kind: c["long_name"] for c in best.get("address_components", []) for kind in c.get("types", [])}
        short = {kind: c["short_name"] for c in best.get("address_components", []) for kind in c.get("types", [])}
        return Place(lat=lat, lon=lon, label=best["formatted_address"], city=parts.get("locality"),
                     region=parts.get("administrative_area_level_1"), country_code=short.get("country"))

    async def close(self) -> None:
        await self.client.aclose()
