"""Generated from the app's route table and the tool registry: every route and tool declares what a caller
needs; a key without a route's scope gets 403 naming it; another account's ids answer 404 on every route
with an id in its path (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from engine import Settings
from engine.auth.scopes import ALL_SCOPES, Scope
from picsha_mcp.rest import create_app
from picsha_mcp.rest.app import build_route_tables
from picsha_mcp.rest.access import Access, need_of
from tests.conftest import ApiClient, app_client, in_own_task
from tests.factories import image_bytes
from tests.people import Tenant, bearer, tenant
from tools_manifest.image_tools import image_tools
from tools_manifest.registry import all_tools

# Every API route with its full path (routers included into the app are expanded); not the OpenAPI document
# and docs pages (public) nor /mcp (its tools carry their scopes: tests/mcp/test_scoped_tools.py).
APP = create_app(Settings(data_dir=Path("unused")))
ROUTES = [context for context in iter_route_contexts(APP.routes) if isinstance(context.original_route, APIRoute)]
CALLS = [(method, route) for route in ROUTES for method in sorted(route.methods)]
TUS = {"Tus-Resumable": "1.0.0", "X-HTTP-Method-Override": "DELETE"}  # what TUS routes ask first
ID_PARAMS = {"asset_id", "job_id", "pipeline_id", "webhook_id", "schedule_id", "upload_id", "key_id", "user_id", "team_id",
             "folder_id", "collection_id", "share_id"}
OTHER_PARAMS = {"tool_id": "resize", "name": "tags", "key": "max_upload_bytes", "tag": "x", "version": "1",
                "token": "not-a-share"}  # path parts that name no account's data


def params_of(route: RouteContext) -> list[str]:
    return re.findall(r"{(\w+)}", route.path)


def fill(route: RouteContext, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1)) or OTHER_PARAMS[m.group(1)], route.path)


def label(method: str, route: RouteContext) -> str:
    return f"{method} {route.path}"


def test_every_route_and_tool_declares_what_it_needs() -> None:
    assert len(CALLS) > 60
    undeclared = [label(method, route) for method, route in CALLS if need_of(route.endpoint) is None]
    assert undeclared == [], "declare with @needs(Scope...) / @needs(Access...) (picsha_mcp.rest.access)"
    assert all(isinstance(tool.scope, Scope) for tool in all_tools())
    documented = APP.openapi()["paths"]
    assert all(documented[route.path][method.lower()]["x-picsha-needs"] == need_of(route.endpoint).value
               for method, route in CALLS if route.original_route.include_in_schema)
    assert {param for _m, route in CALLS for param in params_of(route)} <= ID_PARAMS | set(OTHER_PARAMS), \
        "a new kind of id in a path: add it to ID_PARAMS and to the cross-account test's data"


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[ApiClient]:
    async with app_client(settings) as client:
        yield client


async def key_with(api: ApiClient, scopes: set[str]) -> dict[str, str]:
    return bearer((await api.engine.keys.create_key(api.engine.owner_account_id, "k", scopes=scopes))[1])


async def test_a_key_without_a_routes_scope_is_refused_and_one_with_it_is_not(api: ApiClient) -> None:
    ids = {name: f"{name.split('_')[0][:2]}_nothere" for name in ID_PARAMS}
    without = {scope: await key_with(api, set(ALL_SCOPES - {scope.value})) for scope in Scope}
    only = {scope: await key_with(api, {scope.value}) for scope in Scope}
    wrong: list[str] = []
    for method, route in CALLS:
        need, path = need_of(route.endpoint), fill(route, ids)
        if isinstance(need, Scope):
            refused = await api.http.request(method, path, headers=without[need] | TUS)
            allowed = await api.http.request(method, path, headers=only[need] | TUS)
            body = refused.json()["error"] if refused.content and method != "HEAD" else {}
            if refused.status_code != 403 or (method != "HEAD" and (body.get("code"), body.get("scope")) != ("key_scope_denied", need.value)):
                wrong.append(f"{label(method, route)} without {need.value}: {refused.status_code} {refused.text[:120]}")
            if allowed.status_code == 403:
                wrong.append(f"{label(method, route)} with only {need.value}: 403 {allowed.text[:120]}")
        elif need is Access.SIGNED_IN:
            if (await api.http.request(method, path, headers=TUS)).status_code != 401:
                wrong.append(f"{label(method, route)} answers without a caller")
        elif need is Access.PUBLIC:
            if (await api.http.request(method, path, headers=TUS)).status_code in (401, 403):
                wrong.append(f"{label(method, route)} is public but refuses")
    assert wrong == [], "\n".join(wrong)


async def test_a_key_without_a_tools_scope_cannot_call_it_over_rest(api: ApiClient) -> None:
    wrong = []
    for tool in all_tools():
        refused = await api.http.post(f"/v1/tools/{tool.id}", json={}, headers=await key_with(api, set(ALL_SCOPES - {tool.scope.value})))
        if refused.status_code != 403 or refused.json()["error"]["scope"] != tool.scope.value:
            wrong.append(f"{tool.id}: {refused.status_code}")
    image_tool = image_tools()[0]
    refused = await api.http.post(f"/v1/tools/{image_tool.id}", json={"asset_id": "as_x"},
                                  headers=await key_with(api, set(ALL_SCOPES - {Scope.TOOLS.value})))
    assert wrong == [] and refused.json()["error"]["scope"] == "tools"


# -- another account's ids ------------------------------------------------------------------------

# Requests that pass validation, so the answer is about the id (a 400 or 415 here means: add the route's).
REQUESTS: dict[str, dict[str, Any]] = {
    "PATCH /v1/assets/{asset_id}": {"json": {"tags": ["x"]}},
    "PUT /v1/auth/users/{user_id}": {"json": {"role": "user"}},
    "POST /v1/auth/users/{user_id}/reset-password": {"json": {"new_password": "long enough now"}},
    "PUT /v1/auth/teams/{team_id}": {"json": {"name": "renamed"}},
    "PATCH /v1/folders/{folder_id}": {"json": {"name": "renamed"}},
    "PATCH /v1/collections/{collection_id}": {"json": {"name": "renamed"}},
    "POST /v1/collections/{collection_id}/assets": {"json": {"asset_ids": ["as_x"]}},
    "POST /v1/assets/{asset_id}/tags": {"json": {"tags": ["x"]}},
    "PUT /v1/assets/{asset_id}/file": {"files": {"file": ("b.png", image_bytes(20, 10, "png"), "image/png")}},
    "PATCH /v1/upload/resumable/{upload_id}": {
        "content": b"x", "headers": {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}},
}


@pytest.fixture
async def shared_api(shared_settings: Settings) -> AsyncIterator[ApiClient]:
    shared_settings.ingest.fetch_allow_private = True  # webhooks and schedules name a local address
    async with app_client(shared_settings) as client:
        yield client


async def ids_of(api: ApiClient, owner: Tenant) -> dict[str, str]:
    """One of each kind of id, made in ``owner``'s account."""
    http, h = api.http, owner.admin
    asset = (await http.post("/v1/assets", headers=h, files={"file": ("a.png", image_bytes(30, 20, "png"), "image/png")})).json()
    async with api.engine.catalog.begin() as conn:
        job_id = await api.engine.jobs.create(conn, account_id=owner.account_id, kind="scrape", payload={})
    pipeline = (await http.post("/v1/pipeline/save", headers=h, json={"name": "p", "steps": [{"toolId": "resize", "settings": {"width": 9}}]})).json()
    webhook = (await http.post("/v1/webhooks", headers=h, json={"url": "http://127.0.0.1:9/hook"})).json()
    schedule = (await http.post("/v1/automation/schedules", headers=h, json={"url": "http://127.0.0.1:9/", "name": "s"})).json()
    upload = await http.post("/v1/upload/resumable", headers=h | TUS | {"Upload-Length": "10"})
    key = (await http.post("/v1/api-keys", headers=h, json={"name": "k"})).json()
    team = (await http.post("/v1/auth/teams", headers=h, json={"name": "t"})).json()
    folder = (await http.post("/v1/folders", headers=h, json={"name": "f"})).json()
    collection = (await http.post("/v1/collections", headers=h, json={"name": "c"})).json()
    share = (await http.post("/v1/shares", headers=h, json={"target_type": "asset", "target_id": asset["id"]})).json()
    return {"folder_id": folder["id"], "collection_id": collection["id"], "share_id": share["id"],"asset_id": asset["id"], "job_id": job_id, "pipeline_id": pipeline["id"], "webhook_id": webhook["id"],
            "schedule_id": schedule["schedule_id"], "upload_id": upload.headers["Location"].rsplit("/", 1)[1],
            "key_id": key["id"], "user_id": owner.user_id, "team_id": team["id"]}


async def test_another_accounts_ids_answer_404_on_every_route(shared_api: ApiClient) -> None:
    api = shared_api
    first, second = await tenant(api, "first"), await tenant(api, "second")
    ids = await ids_of(api, first)
    assert all(ids.values()), ids
    wrong: list[str] = []
    for method, route in CALLS:
        if not set(params_of(route)) & ID_PARAMS or need_of(route.endpoint) is Access.PUBLIC:
            continue
        path, given = fill(route, ids), dict(REQUESTS.get(label(method, route), {}))
        headers = TUS | given.pop("headers", {})
        answer = await api.http.request(method, path, headers=second.admin | headers, **given)
        if answer.status_code != 404:
            wrong.append(f"{label(method, route)}: {answer.status_code} {answer.text[:120]}")
        elif method == "GET":  # the id is real: its own account gets something else than that 404
            mine = await api.http.get(path, headers=first.admin | headers)
            if mine.status_code == 404 and mine.json()["error"]["code"] == answer.json()["error"]["code"]:
                wrong.append(f"{label(method, route)} is not found for its own account either: {mine.text[:80]}")
    assert wrong == [], "\n".join(wrong)


async def test_route_tables_are_built_when_the_server_starts(settings: Settings) -> None:
    """FastAPI builds an included router's route table on the first request through it (~0.2 s for all of
    Picsha's, a stall of every request on that server process meanwhile): the lifespan builds them first."""
    app = create_app(settings)
    included = [route for route in app.router.routes if hasattr(route, "effective_candidates")]
    assert included, "FastAPI no longer builds route tables lazily: build_route_tables can go"
    assert all(route._effective_candidates_version is None for route in included)
    async with in_own_task(app.router.lifespan_context(app)):
        assert all(route._effective_candidates_version is not None for route in included)
        reached = build_route_tables(app.router)  # built already: this walks them again, building nothing
    direct = [route for route in app.router.routes if route not in included]
    assert reached == len(list(iter_route_contexts(app.routes))) - len(direct)  # every included route
