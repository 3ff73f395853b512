"""People for tests: accounts with an admin and a user made through the engine, signed in over REST."""

from __future__ import annotations

from dataclasses import dataclass

from engine.accounts.models import UserCreate
from engine.auth.keys import Role
from tests.conftest import ApiClient

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(api: ApiClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = await api.http.post("/v1/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["token"])


@dataclass
class Tenant:
    account_id: str
    admin_id: str
    user_id: str
    admin: dict[str, str]  # headers of the admin's session
    user: dict[str, str]  # headers of the user's session


async def tenant(api: ApiClient, name: str) -> Tenant:
    """A new account with an admin ``<name>-admin`` and a user ``<name>-user``, both signed in."""
    account_id = await api.engine.keys.create_account(name)
    users = api.engine.accounts.users
    admin = await users.create(account_id, UserCreate(username=f"{name}-admin", password=PASSWORD, role=Role.ADMIN))
    user = await users.create(account_id, UserCreate(username=f"{name}-user", password=PASSWORD))
    return Tenant(account_id, admin.id, user.id, await log_in(api, admin.username), await log_in(api, user.username))


async def key_of(api: ApiClient, headers: dict[str, str], **fields: object) -> dict[str, str]:
    """A key made over REST by whoever ``headers`` sign in, as headers."""
    made = await api.http.post("/v1/api-keys", json={"name": "k", **fields}, headers=headers)
    assert made.status_code == 201, made.text
    return bearer(made.json()["key"])
