"""Google Maps reverse geocoding when a key is set, against a fake Maps API at the HTTP layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa

from engine import Engine
from engine.assets import IngestConfig, IngestOptions
from engine.auth import Principal
from engine.catalog import tables
from engine.errors import UpstreamError
from engine.places.google import GoogleGeocoder, GoogleMapsSettings
from tests.engine.enrich.conftest import analysis_settings
from tests.factories import jpeg_with_exif

CAMBRIDGE = {
    "status": "OK",
    "results": [{
        "formatted_address": "Trinity St, Cambridge CB2 1TQ, UK",
        "address_components": [
            {"long_name": "Cambridge", "short_name": "Cambridge", "types": ["locality", "political"]},
            {"long_name": "England", "short_name": "England", "types": ["administrative_area_level_1"]},
            {"long_name": "United Kingdom", "short_name": "GB", "types": ["country", "political"]},
        ],
    }],
}


class FakeMaps:
    def __init__(self, answers: list[tuple[int, dict[str, object]]]):
        self.answers = answers
        self.seen: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        status, body = self.answers[min(len(self.seen), len(self.answers)) - 1]
        return httpx2.Response(status, json=body)


def geocoder(fake: FakeMaps) -> GoogleGeocoder:
    settings = GoogleMapsSettings(api_key="maps-key", attempts=3)
    return GoogleGeocoder(settings, client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake)))


async def test_lookup_reads_the_address_after_a_retry() -> None:
    fake = FakeMaps([(503, {}), (200, CAMBRIDGE)])
    place = await geocoder(fake).lookup(52.2053, 0.1218)
    assert place is not None and place.label == "Trinity St, Cambridge CB2 1TQ, UK"
    assert (place.city, place.region, place.country_code) == ("Cambridge", "England", "GB")
    assert fake.seen[-1].url.params["latlng"] == "52.2053,0.1218" and fake.seen[-1].url.params["key"] == "maps-key"
    assert len(fake.seen) == 2


async def test_no_results_and_refusals() -> None:
    assert await geocoder(FakeMaps([(200, {"status": "ZERO_RESULTS", "results": []})])).lookup(0, 0) is None
    with pytest.raises(UpstreamError) as refused:
        await geocoder(FakeMaps([(200, {"status": "REQUEST_DENIED", "error_message": "bad key"})])).lookup(1, 1)
    assert refused.value.code == "geocoder_failed" and "bad key" in refused.value.message


@pytest.fixture
async def maps_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    settings = analysis_settings(tmp_path, location_lookup=True)
    settings.enrich.google_maps = GoogleMapsSettings(api_key="maps-key")
    async with Engine.open(settings) as opened:
        yield opened


async def test_an_upload_with_gps_gets_googles_label_and_a_ledger_row(maps_engine: Engine) -> None:
    fake = FakeMaps([(200, CAMBRIDGE)])
    maps_engine.enrich.steps.geocoder = geocoder(fake)
    owner = Principal(account_id=maps_engine.owner_account_id)
    path = maps_engine.work_dir / "trip.jpg"
    path.write_bytes(jpeg_with_exif(lat=52.2053, lon=0.1218))
    asset = await maps_engine.ingest.from_path(owner, path, IngestOptions(config=IngestConfig()))
    assert asset.location is not None
    if "place" in asset.analysis.pending:  # the answer is read after the job is queued: on a busy machine the
        assert asset.location.label == "Cambridge, England, GB"  # place step may have run already; else offline
    assert await maps_engine.enrich.wait_for_asset(owner.account_id, asset.id, 60)
    done = await maps_engine.assets.get(owner, asset.id)
    assert done.location is not None and done.location.label == "Trinity St, Cambridge CB2 1TQ, UK"
    u = tables.usage_events
    async with maps_engine.catalog.connect() as conn:
        row = (await conn.execute(sa.select(u).where(u.c.asset_id == asset.id, u.c.kind == "ai_operation"))).one()
    assert row.detail["step"] == "place" and row.amount_micros == 5000


class LeakyMaps(FakeMaps):
    """A Maps API that fails in the ways whose messages would carry the request URL (and so the key)."""

    def __init__(self, mode: str):
        super().__init__([])
        self.mode = mode

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        if self.mode == "unreachable":
            raise httpx2.ConnectError(f"connection to {request.url} failed", request=request)
        if self.mode == "denied":
            return httpx2.Response(200, json={"status": "REQUEST_DENIED", "error_message": f"key {request.url.params['key']} is invalid"})
        return httpx2.Response(503, json={})


@pytest.mark.parametrize("mode", ["http-503", "unreachable", "denied"])
async def test_a_failing_maps_call_leaves_no_key_in_the_job(maps_engine: Engine, mode: str) -> None:
    fake = LeakyMaps(mode)
    maps_engine.enrich.steps.geocoder = geocoder(fake)
    owner = Principal(account_id=maps_engine.owner_account_id)
    path = maps_engine.work_dir / "trip.jpg"
    path.write_bytes(jpeg_with_exif(lat=52.2053, lon=0.1218))
    asset = await maps_engine.ingest.from_path(owner, path, IngestOptions(config=IngestConfig()))
    assert await maps_engine.enrich.wait_for_asset(owner.account_id, asset.id, 60)
    latest = await maps_engine.jobs.latest_for_asset(owner.account_id, asset.id)
    assert latest is not None and fake.seen and fake.seen[0].url.params["key"] == "maps-key"
    job = (await maps_engine.jobs.get(owner.account_id, latest.id)).model_dump_json()  # what GET /v1/jobs/{id} shows
    assert "maps-key" not in job and "key=" not in job
    assert "Google Maps" in job, "the place step reports its failure"


async def test_geocoder_errors_carry_no_url_or_cause() -> None:
    with pytest.raises(UpstreamError) as caught:
        await geocoder(LeakyMaps("http-503")).lookup(1, 1)
    assert caught.value.message == "Google Maps answered HTTP 503." and caught.value.__cause__ is None
    assert caught.value.__context__ is None
