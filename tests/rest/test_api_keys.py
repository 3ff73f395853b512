"""API keys over REST, on SQLite and PostgreSQL: made by people (shown once), listed with their usage,
scoped, expiring, credit-limited, accepted as Bearer or X-API-Key, and each user's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine import Settings
from engine.accounts.models import UserCreate
from engine.catalog import tables
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes
from tests.people import PASSWORD, key_of, log_in, tenant


@pytest.fixture
async def api(shared_settings: Settings) -> AsyncIterator[ApiClient]:
    shared_settings.prices.storage_per_gb_month = 1000.0  # a small upload costs a few micro-dollars
    async with app_client(shared_settings) as client:
        yield client


def code(answer: object) -> str:
    return answer.json()["error"]["code"]  # type: ignore[attr-defined]


async def upload(api: ApiClient, headers: dict[str, str]) -> object:
    return await api.http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(40, 30, "png"), "image/png")})


async def test_a_key_is_shown_once_listed_without_its_secret_and_sent_either_way(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    made = await api.http.post("/v1/api-keys", headers=acme.user,
                               json={"name": "ci", "scopes": ["assets:read", "search"], "credit_limit": 5, "expires_days": 30})
    body = made.json()
    assert made.status_code == 201 and body["key"].startswith("sk_live_") and body["key"].startswith(body["prefix"])
    assert body["scopes"] == ["assets:read", "search"] and body["credit_limit"] == 5
    assert timedelta(days=29) < datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC) <= timedelta(days=30)
    listed = (await api.http.get("/v1/api-keys", headers=acme.user)).json()
    assert [k["id"] for k in listed] == [body["id"]] and body["key"] not in str(listed)
    assert listed[0]["usage"] == {"spend": "0.000000", "operations": 0} and listed[0]["last_used_at"] is None
    assert (await api.http.get("/v1/assets", headers={"X-API-Key": body["key"]})).status_code == 200
    assert (await api.http.get("/v1/assets", headers={"Authorization": f"Bearer {body['key']}"})).status_code == 200
    bad = await api.http.post("/v1/api-keys", headers=acme.user, json={"name": "x", "scopes": ["everything"]})
    assert bad.status_code == 400 and "assets:read" in bad.text  # the valid scopes are named


async def test_scopes_are_enforced_and_never_exceed_the_maker(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    reader = await key_of(api, acme.user, scopes=["assets:read"])
    assert (await api.http.get("/v1/assets", headers=reader)).status_code == 200
    denied = await upload(api, reader)
    assert denied.status_code == 403 and code(denied) == "key_scope_denied"  # type: ignore[attr-defined]
    assert denied.json()["error"]["scope"] == "assets:write"  # type: ignore[attr-defined]
    search = await api.http.post("/v1/search", headers=reader, json={"query": "red"})
    assert search.status_code == 403 and search.json()["error"]["scope"] == "search"
    tool = await api.http.post("/v1/tools/delete_asset", headers=reader, json={"id": "as_x", "confirm": True})
    assert tool.status_code == 403 and tool.json()["error"]["scope"] == "assets:write"
    pipeline = await api.http.post("/v1/pipeline", headers=await key_of(api, acme.user, scopes=["tools"]),
                                   json={"steps": [{"name": "d", "action": "delete_asset", "params": {"id": "as_x", "confirm": True}}]})
    assert "key_scope_denied" in pipeline.text  # a pipeline step needs its tool's scope too

    grab = await api.http.post("/v1/api-keys", headers=acme.user, json={"name": "x", "scopes": ["admin"]})
    assert grab.status_code == 403 and grab.json()["error"]["scope"] == "admin"  # a user cannot make an admin key
    user_key = await key_of(api, acme.user)  # no scopes: all the user's role allows, which is not admin
    assert (await api.http.get("/v1/auth/users", headers=user_key)).status_code == 403
    admin_key = await key_of(api, acme.admin)
    assert (await api.http.get("/v1/auth/users", headers=admin_key)).status_code == 200
    sub = await api.http.post("/v1/api-keys", headers=reader, json={"name": "sub"})
    assert sub.status_code == 403 and code(sub) == "key_limited"


async def test_an_expired_key_is_refused_cached_or_not(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    keys = api.engine.keys
    _info, soon = await keys.create_key(acme.account_id, "soon", user_id=acme.user_id,
                                        expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert (await api.http.get("/v1/assets", headers={"X-API-Key": soon})).status_code == 200  # now remembered
    await asyncio.sleep(1.1)
    cached = await api.http.get("/v1/assets", headers={"X-API-Key": soon})
    assert cached.status_code == 401 and code(cached) == "key_expired"
    keys.forget()
    fresh = await api.http.get("/v1/assets", headers={"X-API-Key": soon})
    assert fresh.status_code == 401 and code(fresh) == "key_expired"


async def test_a_key_that_spent_its_credit_limit_is_refused(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    made = (await api.http.post("/v1/api-keys", headers=acme.user, json={"name": "tight", "credit_limit": 0.000001})).json()
    headers = {"X-API-Key": made["key"]}
    analysed = await api.http.post(  # an analysis, charged as an AI operation to the key that asked for it
        "/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(40, 30, "png"), "image/png")},
        data={"config": '{"auto_tag": true}', "wait": "true"})
    assert analysed.status_code == 200, analysed.text
    listed = {k["id"]: k for k in (await api.http.get("/v1/api-keys", headers=acme.user)).json()}
    assert listed[made["id"]]["usage"]["operations"] >= 1 and float(listed[made["id"]]["usage"]["spend"]) > 0
    api.engine.keys.forget()  # the next request reads the key and its spend again (else within 5 s)
    spent = await api.http.get("/v1/assets", headers=headers)
    assert spent.status_code == 402 and code(spent) == "key_credit_exhausted"
    assert (await api.http.get("/v1/assets", headers=await key_of(api, acme.user))).status_code == 200


async def test_users_manage_their_own_keys_and_pipelines_admins_all(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    await api.engine.accounts.users.create(acme.account_id, UserCreate(username="acme-other", password=PASSWORD))
    other = await log_in(api, "acme-other")
    mine = (await api.http.post("/v1/api-keys", headers=acme.user, json={"name": "mine"})).json()
    theirs = (await api.http.post("/v1/api-keys", headers=other, json={"name": "theirs"})).json()
    assert [k["id"] for k in (await api.http.get("/v1/api-keys", headers=acme.user)).json()] == [mine["id"]]
    assert {k["id"] for k in (await api.http.get("/v1/api-keys", headers=acme.admin)).json()} >= {mine["id"], theirs["id"]}
    foreign = await api.http.delete(f"/v1/api-keys/{theirs['id']}", headers=acme.user)
    assert foreign.status_code == 404 and code(foreign) == "key_not_found"
    assert (await api.http.delete(f"/v1/api-keys/{mine['id']}", headers=acme.user)).status_code == 200
    assert (await api.http.delete(f"/v1/api-keys/{theirs['id']}", headers=acme.admin)).status_code == 200
    assert code(await api.http.get("/v1/assets", headers={"X-API-Key": theirs["key"]})) == "auth_invalid_key"

    saved = (await api.http.post("/v1/pipeline/save", headers=other,
                                 json={"name": "p", "steps": [{"toolId": "resize", "settings": {"width": 10}}]})).json()
    assert (await api.http.delete(f"/v1/pipeline/{saved['id']}", headers=acme.user)).status_code == 404
    assert (await api.http.get("/v1/pipeline/list", headers=acme.user)).json()["pipelines"] == []
    assert [p["id"] for p in (await api.http.get("/v1/pipeline/list", headers=acme.admin)).json()["pipelines"]] == [saved["id"]]
    assert (await api.http.delete(f"/v1/pipeline/{saved['id']}", headers=acme.admin)).status_code == 200


async def test_last_used_at_is_written_after_use_at_most_once_a_minute(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    made = (await api.http.post("/v1/api-keys", headers=acme.user, json={"name": "k"})).json()
    keys, k = api.engine.keys, tables.api_keys

    async def last_used() -> datetime | None:
        await asyncio.gather(*keys._touching)
        async with api.engine.catalog.connect() as conn:
            return await conn.scalar(sa.select(k.c.last_used_at).where(k.c.id == made["id"]))

    await api.http.get("/v1/assets", headers={"X-API-Key": made["key"]})
    assert await last_used() is not None
    async with api.engine.catalog.begin() as conn:
        await conn.execute(k.update().where(k.c.id == made["id"]).values(last_used_at=None))
    for _ in range(3):
        await api.http.get("/v1/assets", headers={"X-API-Key": made["key"]})
    assert await last_used() is None  # within the minute: not written again
    keys._touched.clear()  # as if the minute had passed
    await api.http.get("/v1/assets", headers={"X-API-Key": made["key"]})
    assert await last_used() is not None


async def test_a_users_keys_follow_their_role_and_end_with_them(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    key = await key_of(api, acme.user)
    assert (await api.http.get("/v1/auth/users", headers=key)).status_code == 403
    await api.http.put(f"/v1/auth/users/{acme.user_id}", headers=acme.admin, json={"role": "admin"})
    assert (await api.http.get("/v1/auth/users", headers=key)).status_code == 200  # at once, in this process
    assert (await api.http.get("/v1/auth/session", headers=key)).json() == {
        "user": {"id": acme.user_id, "username": "acme-user", "role": "admin", "account_id": acme.account_id,
                 "team_id": None}, "expires_at": None}
    await api.http.delete(f"/v1/auth/users/{acme.user_id}", headers=acme.admin)
    gone = await api.http.get("/v1/assets", headers=key)
    assert gone.status_code == 401 and code(gone) == "auth_invalid_key"
    assert code(await api.http.get("/v1/assets", headers=acme.user)) == "session_invalid"
    cli_key = {"X-API-Key": (await api.engine.keys.create_key(acme.account_id, "ops"))[1]}
    assert code(await api.http.get("/v1/auth/session", headers=cli_key)) == "user_not_found"
