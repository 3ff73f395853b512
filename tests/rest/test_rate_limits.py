"""Rate limits per key and per account, in memory and on the local Redis: 429 with Retry-After and the
RateLimit-* headers, costly routes counted by their weight, MCP over HTTP counted too."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.auth import Principal
from engine.plans import LimitSettings, Plan, Rate, RateBackend, RateLimited, Work
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, make_settings
from tests.redis import redis_url


def limits(backend: str, plan: Plan) -> LimitSettings:
    if backend == "redis":
        return LimitSettings(backend=RateBackend.REDIS, redis_url=redis_url(), plans={"default": plan})
    return LimitSettings(plans={"default": plan})


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


async def client(tmp_path: Path, backend: str, plan: Plan) -> AsyncIterator[ApiClient]:
    async with app_client(make_settings(tmp_path, limits=limits(backend, plan))) as api:
        yield api


async def _within_one_minute_window(needed_s: float = 20.0) -> None:
    """Wait for a fresh minute when fewer than ``needed_s`` are left of this one: the sliding window weighs
    the previous minute's hits by the time left of it, so counts taken across a boundary come out lower."""
    left = 60 - time.time() % 60
    if left < needed_s:
        await asyncio.sleep(left + 0.1)


async def test_a_key_past_its_minute_gets_429_with_headers(tmp_path: Path, backend: str) -> None:
    await _within_one_minute_window()
    async for api in client(tmp_path, backend, Plan(key=Rate(per_minute=3))):
        alice, bob = await api.account("alice"), await api.account("bob")
        answers = [await api.http.get("/v1/assets", headers=alice) for _ in range(4)]
        other = await api.http.get("/v1/assets", headers=bob)  # another key has its own allowance
    assert [a.status_code for a in answers] == [200, 200, 200, 429] and other.status_code == 200
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited" and refused.json()["error"]["scope"] == "key"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "3" and refused.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["RateLimit-Reset"]) <= 60
    if backend == "memory":  # exact headers on successes too (on Redis they would cost a round trip each)
        assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
        assert answers[0].headers["RateLimit-Policy"] == "3;w=60"
    else:
        assert "RateLimit-Remaining" not in answers[0].headers


async def test_an_accounts_keys_share_its_allowance(tmp_path: Path, backend: str) -> None:
    await _within_one_minute_window()
    async for api in client(tmp_path, backend, Plan(key=Rate(per_minute=100), account=Rate(per_minute=4))):
        first = await api.account("team")
        account_id = (await api.engine.keys.authenticate(first["Authorization"].split()[1])).account_id
        _info, secret = await api.engine.keys.create_key(account_id, "second")
        second = {"Authorization": f"Bearer {secret}"}
        statuses = [(await api.http.get("/v1/assets", headers=h)).status_code for h in (first, second) * 2]
        refused = await api.http.get("/v1/assets", headers=second)
        healthy = await api.http.get("/healthz")  # unauthenticated routes are not counted
    assert statuses == [200] * 4 and refused.status_code == 429
    assert refused.json()["error"]["scope"] == "account" and healthy.status_code == 200


async def test_a_burst_is_refused_before_the_minute_is_used(tmp_path: Path, backend: str) -> None:
    async for api in client(tmp_path, backend, Plan(key=Rate(per_minute=1000, burst=2))):
        headers = await api.account()
        statuses = [(await api.http.get("/v1/assets", headers=headers)).status_code for _ in range(6)]
    assert 429 in statuses and statuses[:2] == [200, 200]


async def test_a_cold_render_counts_its_weight_and_a_cached_one_counts_one(tmp_path: Path) -> None:
    await _within_one_minute_window()
    async for api in client(tmp_path, "memory", Plan(key=Rate(per_minute=10))):  # render_cold weighs 5
        headers = await api.account()
        asset = (await api.http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(64, 48, "png"))})).json()
        path = f"/v1/assets/{asset['id']}/render?w=20&format=webp"
        cold = await api.http.get(path, headers=headers)
        cached = await api.http.get(path, headers=headers)
        after = (await api.http.get("/v1/assets", headers=headers)).headers["RateLimit-Remaining"]
    assert cold.status_code == cached.status_code == 200
    # 1 upload + (1 + 4) cold render + 1 cached render + 1 list = 8 of 10
    assert cold.headers["RateLimit-Remaining"] == "8" and cached.headers["RateLimit-Remaining"] == "3"
    assert after == "2"


async def test_costly_routes_are_refused_by_their_weight(tmp_path: Path) -> None:
    await _within_one_minute_window()
    async for api in client(tmp_path, "memory", Plan(key=Rate(per_minute=25))):  # scrape weighs 20
        headers = await api.account()
        for _ in range(6):
            await api.http.get("/v1/assets", headers=headers)
        refused = await api.http.post("/v1/scrape", headers=headers, json={"url": "https://example.com"})
        cheap = await api.http.get("/v1/assets", headers=headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert cheap.status_code == 200 and cheap.headers["RateLimit-Remaining"] == "18"  # a refusal uses up nothing


async def test_a_weight_above_a_limit_counts_as_all_of_it(tmp_path: Path, backend: str) -> None:
    async for api in client(tmp_path, backend, Plan(key=Rate(per_minute=5))):
        caller = Principal(account_id=api.engine.owner_account_id, key_id=f"key_{uuid.uuid4().hex}")  # Redis outlives tests
        await api.engine.plans.admit(caller, Work.GENERATE)  # weighs 20: allowed once, as all 5
        with pytest.raises(RateLimited):
            await api.engine.plans.admit(caller)


async def test_mcp_over_http_counts_against_the_same_limits(tmp_path: Path, backend: str) -> None:
    await _within_one_minute_window()
    async for api in client(tmp_path, backend, Plan(key=Rate(per_minute=2))):
        headers = await api.account() | {"Accept": "application/json, text/event-stream"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        answers = [await api.http.post("/mcp", headers=headers, json=body) for _ in range(3)]
        rest = await api.http.get("/v1/assets", headers=headers)
    assert [a.status_code != 429 for a in answers] == [True, True, False]
    assert answers[-1].json()["error"]["code"] == "rate_limited" and answers[-1].headers["RateLimit-Limit"] == "2"
    assert "Retry-After" in answers[-1].headers and rest.status_code == 429  # one allowance for both doors
