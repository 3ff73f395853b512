"""``/v1/usage`` by key and by day, with work done later by a job attributed to the key that asked for it;
``/v1/assets/usage-stats`` naming the most-run analysis; the storage meter stopped by a delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Settings
from tests.conftest import app_client
from tests.factories import image_bytes


async def test_a_jobs_ai_operations_belong_to_the_key_that_asked(shared_settings: Settings) -> None:
    async with app_client(shared_settings) as api:
        alice = await api.account("alice")
        account_id = (await api.engine.keys.authenticate(alice["Authorization"].split()[1])).account_id
        _info, secret = await api.engine.keys.create_key(account_id, "second")
        second = {"Authorization": f"Bearer {secret}"}
        asset = (await api.http.post("/v1/assets", headers=alice, files={"file": ("a.png", image_bytes(64, 48, "png"))})).json()
        run = await api.http.post(f"/v1/assets/{asset['id']}/skills/colors/run", headers=second)
        usage = (await api.http.get("/v1/usage", headers=alice)).json()
        stats = (await api.http.get("/v1/assets/usage-stats", headers=alice)).json()
    assert run.status_code == 200 and run.json()["succeeded"]
    by_key = {entry["key_id"]: entry for entry in usage["by_key"]}
    assert by_key[_info.id]["ai_operations"] >= 1  # run in a background job, billed to the key that asked
    assert sum(entry["ai_operations"] for entry in usage["by_key"]) == usage["breakdown"]["ai_operations"]
    assert usage["by_day"][-1]["date"] == datetime.now(UTC).date().isoformat()
    assert usage["by_day"][-1]["ai_operations"] == usage["breakdown"]["ai_operations"]
    assert stats["most_active_skill"]["run_count"] >= 1


async def test_a_delete_stops_the_storage_meter(shared_settings: Settings) -> None:
    data = image_bytes(800, 600, "png")  # large enough that six decimals of GB-hours measure an hour of it
    async with app_client(shared_settings) as api:
        headers = await api.account()
        kept = (await api.http.post("/v1/assets", headers=headers, files={"file": ("k.png", data)})).json()
        gone = (await api.http.post("/v1/assets", headers=headers, files={"file": ("g.png", data)})).json()
        account_id = (await api.engine.keys.authenticate(headers["Authorization"].split()[1])).account_id
        await api.http.delete(f"/v1/assets/{gone['id']}?purge=true", headers=headers)  # the trash still stores it
        later = datetime.now(UTC) + timedelta(hours=1)
        if later.month != datetime.now(UTC).month:
            pytest.skip("an hour from now is next month: the month's meter restarts there")
        hour_on = await api.engine.ledger.summary(account_id, at=later)
        now = await api.engine.ledger.summary(account_id)
    assert kept["id"] != gone["id"]
    assert hour_on.breakdown.storage_gb == pytest.approx(len(data) / 1e9, abs=1e-6)
    grown = (hour_on.breakdown.storage_gb_hours - now.breakdown.storage_gb_hours) * 1e9
    assert grown == pytest.approx(len(data) * 1.0, rel=0.01)  # one hour of the kept file only
