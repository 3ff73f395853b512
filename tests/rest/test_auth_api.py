"""Login sessions over REST, on SQLite and PostgreSQL: log in, the session, log out, passwords, throttling,
and admins managing users and teams (an account always keeps an admin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine import Settings
from engine.catalog import tables
from tests.conftest import ApiClient, app_client
from tests.people import PASSWORD, bearer, key_of, log_in, tenant


@pytest.fixture
async def api(shared_settings: Settings) -> AsyncIterator[ApiClient]:
    async with app_client(shared_settings) as client:
        yield client


def code(answer: object) -> str:
    return answer.json()["error"]["code"]  # type: ignore[attr-defined]


async def test_login_session_logout(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    answer = await api.http.post("/v1/auth/login", json={"username": "acme-user", "password": PASSWORD})
    body = answer.json()
    assert answer.status_code == 200 and body["token"].startswith("ses_live_")
    assert body["user"] == {"id": acme.user_id, "username": "acme-user", "role": "user",
                            "account_id": acme.account_id, "team_id": None}
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    headers = bearer(body["token"])
    session = (await api.http.get("/v1/auth/session", headers=headers)).json()
    assert session["user"]["id"] == acme.user_id and datetime.fromisoformat(session["expires_at"]) == expires
    async with api.engine.catalog.connect() as conn:  # only the hash is stored
        stored = (await conn.execute(sa.select(tables.sessions.c.token_hash))).scalars().all()
    assert body["token"] not in stored and len(stored) == 3

    assert (await api.http.post("/v1/auth/logout", headers=headers)).status_code == 204
    after = await api.http.get("/v1/auth/session", headers=headers)
    assert after.status_code == 401 and code(after) == "session_invalid"
    assert (await api.http.get("/v1/auth/session", headers=acme.user)).status_code == 200  # the other session stays


async def test_a_wrong_password_and_an_unknown_user_answer_alike_after_the_same_work(api: ApiClient) -> None:
    await tenant(api, "acme")
    hasher = api.engine.accounts.sessions.passwords._hash
    verified: list[str] = []
    real = hasher.verify
    hasher.verify = lambda password, stored: verified.append(stored) or real(password, stored)  # type: ignore[method-assign]
    wrong = await api.http.post("/v1/auth/login", json={"username": "acme-user", "password": "not it at all"})
    unknown = await api.http.post("/v1/auth/login", json={"username": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() and code(wrong) == "invalid_credentials"
    assert len(verified) == 2 and all(stored.startswith("$argon2id$") for stored in verified)  # a dummy hash too

    bad = await api.http.get("/v1/auth/session", headers=bearer("ses_live_made-up"))
    assert bad.status_code == 401 and code(bad) == "session_invalid"


async def test_an_expired_session_is_refused(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    api.engine.accounts.sessions._valid.clear()
    async with api.engine.catalog.begin() as conn:
        await conn.execute(tables.sessions.update().where(tables.sessions.c.user_id == acme.user_id)
                           .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    answer = await api.http.get("/v1/auth/session", headers=acme.user)
    assert answer.status_code == 401 and code(answer) == "session_expired"


async def test_logins_are_throttled_per_user_and_per_address(api: ApiClient) -> None:
    await tenant(api, "acme")
    limit = api.engine.settings.accounts.login_attempts_per_user
    for _ in range(limit):
        assert (await api.http.post("/v1/auth/login", json={"username": "acme-user", "password": "nope"})).status_code == 401
    blocked = await api.http.post("/v1/auth/login", json={"username": "acme-user", "password": PASSWORD})
    assert blocked.status_code == 429 and code(blocked) == "login_rate_limited" and int(blocked.headers["Retry-After"]) >= 1
    assert (await api.http.post("/v1/auth/login", json={"username": "acme-admin", "password": PASSWORD})).status_code == 200
    per_ip = api.engine.settings.accounts.login_attempts_per_ip
    for n in range(per_ip - limit):
        await api.http.post("/v1/auth/login", json={"username": f"guess-{n}", "password": "nope"})
    other_user = await api.http.post("/v1/auth/login", json={"username": "acme-admin", "password": PASSWORD})
    assert other_user.status_code == 429  # the address is spent, whichever name it tries


async def test_change_password_ends_other_sessions_and_keys(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    second = await log_in(api, "acme-user")
    key = await key_of(api, acme.user)
    assert (await api.http.get("/v1/assets", headers=key)).status_code == 200
    wrong = await api.http.post("/v1/auth/change-password", headers=acme.user,
                                json={"current_password": "not it", "new_password": "a new long one"})
    assert wrong.status_code == 403 and code(wrong) == "password_incorrect"
    short = await api.http.post("/v1/auth/change-password", headers=acme.user,
                                json={"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 400 and code(short) == "password_too_short"
    changed = await api.http.post("/v1/auth/change-password", headers=acme.user,
                                  json={"current_password": PASSWORD, "new_password": "a new long one"})
    assert changed.status_code == 204
    assert (await api.http.get("/v1/auth/session", headers=acme.user)).status_code == 200  # this one stays
    assert code(await api.http.get("/v1/auth/session", headers=second)) == "session_invalid"
    assert code(await api.http.get("/v1/assets", headers=key)) == "auth_invalid_key"
    assert (await api.http.post("/v1/auth/login", json={"username": "acme-user", "password": PASSWORD})).status_code == 401
    await log_in(api, "acme-user", "a new long one")


async def test_admins_manage_users_and_teams(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    made = await api.http.post("/v1/auth/register", headers=acme.admin,
                               json={"username": "acme-new", "password": "long enough"})
    assert made.status_code == 201 and made.json()["role"] == "user"
    taken = await api.http.post("/v1/auth/register", headers=acme.admin,
                                json={"username": "acme-new", "password": "long enough"})
    assert taken.status_code == 409 and code(taken) == "username_taken"
    denied = await api.http.post("/v1/auth/register", headers=acme.user, json={"username": "x1", "password": "long enough"})
    assert denied.status_code == 403 and denied.json()["error"]["scope"] == "admin"

    team = (await api.http.post("/v1/auth/teams", headers=acme.admin, json={"name": "design"})).json()
    assert (await api.http.post("/v1/auth/teams", headers=acme.admin, json={"name": "design"})).status_code == 409
    new_id = made.json()["id"]
    moved = await api.http.put(f"/v1/auth/users/{new_id}", headers=acme.admin, json={"team_id": team["id"], "role": "admin"})
    assert moved.status_code == 200 and moved.json()["team_id"] == team["id"] and moved.json()["role"] == "admin"
    renamed = await api.http.put(f"/v1/auth/teams/{team['id']}", headers=acme.admin, json={"name": "brand"})
    assert renamed.json()["name"] == "brand"
    names = {u["username"]: u for u in (await api.http.get("/v1/auth/users", headers=acme.admin)).json()}
    assert set(names) == {"acme-admin", "acme-user", "acme-new"} and names["acme-new"]["team_id"] == team["id"]
    assert (await api.http.delete(f"/v1/auth/teams/{team['id']}", headers=acme.admin)).status_code == 200
    assert (await api.http.get("/v1/auth/users", headers=acme.admin)).json()[2]["team_id"] is None

    new_session = await log_in(api, "acme-new", "long enough")
    reset = await api.http.post(f"/v1/auth/users/{new_id}/reset-password", headers=acme.admin,
                                json={"new_password": "reset by admin"})
    assert reset.status_code == 204 and code(await api.http.get("/v1/auth/session", headers=new_session)) == "session_invalid"
    await log_in(api, "acme-new", "reset by admin")
    gone = await api.http.delete(f"/v1/auth/users/{new_id}", headers=acme.admin)
    assert gone.status_code == 200
    assert (await api.http.post("/v1/auth/login", json={"username": "acme-new", "password": "reset by admin"})).status_code == 401


async def test_the_last_admin_can_be_neither_demoted_nor_removed(api: ApiClient) -> None:
    acme = await tenant(api, "acme")
    demote = await api.http.put(f"/v1/auth/users/{acme.admin_id}", headers=acme.admin, json={"role": "user"})
    remove = await api.http.delete(f"/v1/auth/users/{acme.admin_id}", headers=acme.admin)
    assert demote.status_code == remove.status_code == 409 and code(demote) == code(remove) == "last_admin"
    assert (await api.http.get("/v1/auth/session", headers=acme.admin)).json()["user"]["role"] == "admin"

    promoted = await api.http.put(f"/v1/auth/users/{acme.user_id}", headers=acme.admin, json={"role": "admin"})
    assert promoted.status_code == 200
    assert (await api.http.get("/v1/auth/users", headers=acme.user)).status_code == 200  # a new role at once
    assert (await api.http.put(f"/v1/auth/users/{acme.admin_id}", headers=acme.user, json={"role": "user"})).status_code == 200
    assert (await api.http.get("/v1/auth/users", headers=acme.admin)).status_code == 403


async def test_with_auth_off_everyone_is_the_owner_admin(settings: Settings) -> None:
    from engine.settings import AuthMode

    async with app_client(settings.model_copy(update={"auth": AuthMode.OFF})) as api:
        session = (await api.http.get("/v1/auth/session")).json()
        users = await api.http.get("/v1/auth/users")
        key = await api.http.post("/v1/api-keys", json={"name": "k", "scopes": ["render"]})
    assert session["user"]["role"] == "admin" and session["user"]["username"] == "admin" and session["expires_at"] is None
    assert users.status_code == 200 and key.status_code == 201
