"""The /v1/assets resource routes: listing, patching, deleting, downloading, usage, auth and isolation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.settings import AuthMode
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, make_settings, pdf_bytes


async def put(api: ApiClient, headers: dict[str, str], data: bytes, name: str, **fields: str) -> dict:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)}, data=fields)
    assert response.status_code == 201, response.text
    return response.json()


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


async def test_auth_is_required_and_checked(api: ApiClient) -> None:
    for headers in ({}, {"Authorization": "Bearer sk_live_wrong"}, {"Authorization": "Basic abc"}):
        response = await api.http.get("/v1/assets", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] in {"auth_required", "auth_invalid_key"}


async def test_revoked_key_stops_working(api: ApiClient) -> None:
    account_id = await api.engine.keys.create_account("r")
    info, secret = await api.engine.keys.create_key(account_id, "k")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await api.http.get("/v1/assets", headers=headers)).status_code == 200
    await api.engine.keys.revoke(account_id, info.id)
    assert (await api.http.get("/v1/assets", headers=headers)).json()["error"]["code"] == "auth_invalid_key"


async def test_keys_are_stored_as_hashes(api: ApiClient) -> None:
    import sqlalchemy as sa

    from engine.catalog import tables

    account_id = await api.engine.keys.create_account("h")
    _info, secret = await api.engine.keys.create_key(account_id, "k")
    async with api.engine.catalog.connect() as conn:
        stored = (await conn.execute(sa.select(tables.api_keys))).all()
    assert all(secret not in str(tuple(row)) for row in stored)


async def test_account_a_cannot_touch_account_b(api: ApiClient) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    asset = await put(api, alice, image_bytes(64, 64), "alice.jpg")
    aid = asset["id"]
    assert (await api.http.get(f"/v1/assets/{aid}", headers=bob)).json()["error"]["code"] == "asset_not_found"
    assert (await api.http.get("/v1/assets", headers=bob)).json()["total"] == 0
    assert (await api.http.get(f"/v1/assets/{aid}/content", headers=bob)).status_code == 404
    assert (await api.http.patch(f"/v1/assets/{aid}", headers=bob, json={"description": "mine"})).status_code == 404
    assert (await api.http.delete(f"/v1/assets/{aid}", headers=bob)).status_code == 404
    batch = await api.http.post("/v1/assets/batch-delete", headers=bob, json={"ids": [aid]})
    assert batch.json() == {"requested": 1, "deleted": 0, "not_found_ids": [aid]}
    assert (await api.http.get("/v1/assets/usage-stats", headers=bob)).json()["total_assets"] == 0
    assert (await api.http.get(f"/v1/assets/{aid}", headers=alice)).status_code == 200


async def test_list_filters_sort_and_paging(api: ApiClient) -> None:
    headers = await api.account()
    small = await put(api, headers, image_bytes(20, 20, "png"), "small.png", description="tiny red square")
    big = await put(api, headers, image_bytes(900, 900, "png"), "big.png", alt_text="Large Gradient")
    doc = await put(api, headers, pdf_bytes(1), "report.pdf")

    async def ids(**params: object) -> list[str]:
        response = await api.http.get("/v1/assets", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [doc["id"], big["id"], small["id"]]  # newest first
    assert await ids(order="asc") == [small["id"], big["id"], doc["id"]]
    assert (await ids(sort="size", order="desc"))[:1] == [max((small, big, doc), key=lambda a: a["meta"]["size"])["id"]]
    assert await ids(type="document") == [doc["id"]]
    assert await ids(type="image", order="asc") == [small["id"], big["id"]]
    assert await ids(q="RED SQUARE") == [small["id"]]
    assert await ids(q="gradient") == [big["id"]]
    assert await ids(q="report") == [doc["id"]]
    assert await ids(status="ready", page_size=2, page=2) == [small["id"]]
    page = (await api.http.get("/v1/assets", headers=headers, params={"page_size": 2})).json()
    assert page["total"] == 3 and page["page_size"] == 2 and len(page["items"]) == 2


@pytest.mark.parametrize(
    "params", [{"page_size": 101}, {"page": 0}, {"sort": "name"}, {"order": "up"}, {"type": "video"}, {"status": "done"}]
)
async def test_list_rejects_bad_parameters(api: ApiClient, params: dict[str, object]) -> None:
    headers = await api.account()
    response = await api.http.get("/v1/assets", headers=headers, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert next(iter(params)) in response.json()["error"]["message"]


async def test_patch_changes_only_what_is_sent(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(10, 10), "a.jpg", description="before", tags="x")
    patched = await api.http.patch(f"/v1/assets/{asset['id']}", headers=headers, json={"alt_text": "alt", "is_public": True})
    body = patched.json()
    assert body["alt_text"] == "alt" and body["is_public"] is True
    assert body["description"] == "before" and body["tags"] == ["x"]
    assert body["updated_at"] >= asset["updated_at"]
    too_long = await api.http.patch(f"/v1/assets/{asset['id']}", headers=headers, json={"description": "d" * 1001})
    assert too_long.json()["error"]["code"] == "asset_description_too_long"
    unknown = await api.http.patch(f"/v1/assets/{asset['id']}", headers=headers, json={"owner": "me"})
    assert unknown.status_code == 400


async def test_patch_null_clears_the_texts_and_is_refused_elsewhere(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(10, 10), "a.jpg", description="before", tags="x")
    cleared = await api.http.patch(f"/v1/assets/{asset['id']}", headers=headers, json={"description": None})
    assert cleared.status_code == 200 and cleared.json()["description"] is None
    for field in ("is_public", "filename", "tags", "metadata"):
        refused = await api.http.patch(f"/v1/assets/{asset['id']}", headers=headers, json={"alt_text": "x", field: None})
        assert refused.status_code == 400, field
        assert field in refused.json()["error"]["message"] and "cannot be null" in refused.json()["error"]["message"]
    unchanged = (await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)).json()
    assert unchanged["alt_text"] is None and unchanged["tags"] == ["x"] and unchanged["is_public"] is False


async def test_delete_removes_rows_blob_and_derivatives(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(300, 200), "gone.jpg")
    store = api.engine.store
    blob = f"originals/{asset['meta']['sha256'][:2]}/{asset['meta']['sha256']}"
    assert await store.exists(blob)
    deleted = await api.http.delete(f"/v1/assets/{asset['id']}?purge=true", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["status"] == "ready" and "trashed_at" not in deleted.json()
    assert not await store.exists(blob)
    assert not [p for p in (api.engine.settings.data_dir / "blobs").rglob("*") if p.is_file()]
    again = await api.http.delete(f"/v1/assets/{asset['id']}?purge=true", headers=headers)
    assert again.json()["error"]["code"] == "asset_not_found"


async def test_batch_delete_reports_missing_ids(api: ApiClient) -> None:
    headers = await api.account()
    one = await put(api, headers, image_bytes(10, 10), "1.jpg")
    two = await put(api, headers, image_bytes(11, 10), "2.jpg")
    response = await api.http.post("/v1/assets/batch-delete", headers=headers, json={"ids": [one["id"], "as_nope", two["id"]]})
    assert response.json() == {"requested": 3, "deleted": 2, "not_found_ids": ["as_nope"]}
    assert (await api.http.get("/v1/assets", headers=headers)).json()["total"] == 0


async def test_content_streams_with_ranges(api: ApiClient) -> None:
    headers = await api.account()
    data = image_bytes(500, 400, "png")
    asset = await put(api, headers, data, "r.png")
    url = f"/v1/assets/{asset['id']}/content"
    whole = await api.http.get(url, headers=headers)
    assert whole.content == data and whole.headers["content-type"] == "image/png"
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["etag"] == f'"{asset["meta"]["sha256"]}"'
    part = await api.http.get(url, headers=headers | {"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert (await api.http.get(url, headers=headers | {"Range": "bytes=-7"})).content == data[-7:]
    assert (await api.http.get(url, headers=headers | {"Range": f"bytes={len(data) - 3}-"})).content == data[-3:]
    beyond = await api.http.get(url, headers=headers | {"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    cached = await api.http.get(url, headers=headers | {"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304


async def test_signed_and_public_access(api: ApiClient) -> None:
    headers = await api.account()
    private = await put(api, headers, image_bytes(30, 30), "p.jpg")
    signed = path_of(private["urls"]["original"])
    assert (await api.http.get(signed)).status_code == 200, "a signed URL needs no key"
    assert "immutable" in (await api.http.get(signed)).headers["cache-control"]
    tampered = signed.replace(private["id"], private["id"][:-1] + ("a" if private["id"][-1] != "a" else "b"))
    assert (await api.http.get(tampered)).json()["error"]["code"] == "signature_invalid"
    assert (await api.http.get(f"/v1/assets/{private['id']}/content")).status_code == 401
    public = await put(api, headers, image_bytes(31, 30), "pub.jpg", is_public="true")
    assert (await api.http.get(f"/v1/assets/{public['id']}/content")).status_code == 200


async def test_usage_is_read_from_the_ledger(api: ApiClient) -> None:
    headers = await api.account()
    data = image_bytes(400, 300, "png")
    asset = await put(api, headers, data, "u.png")
    await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers)
    usage = (await api.http.get("/v1/usage", headers=headers)).json()
    assert usage["period"] == "current_month" and usage["currency"] == "USD"
    assert usage["breakdown"]["storage_gb"] == pytest.approx(len(data) / 1e9, rel=1e-3)
    assert usage["breakdown"]["bandwidth_gb"] == pytest.approx(len(data) / 1e9, rel=1e-3)
    assert usage["breakdown"]["ai_operations"] == 0
    assert usage["total_spend"].startswith("$")
    stats = (await api.http.get("/v1/assets/usage-stats", headers=headers)).json()
    assert {k: stats[k] for k in ("total_assets", "total_bytes", "by_type", "by_status")} == {
        "total_assets": 1, "total_bytes": len(data), "by_type": {"image": 1}, "by_status": {"ready": 1}}
    assert stats["by_content_type"] == [{"content_type": "image/png", "count": 1, "total_bytes": len(data)}]
    assert stats["total_derivatives"] == 1 and stats["derivative_bytes"] > 0  # the thumbnail
    assert stats["most_active_skill"] is None  # no analysis ran (the test settings turn them off)


async def test_costs_come_from_priced_ledger_rows(api: ApiClient) -> None:
    from engine.usage import UsageKind

    headers = await api.account()
    asset = await put(api, headers, image_bytes(10, 10), "c.jpg")
    account_id = (await api.engine.keys.authenticate(headers["Authorization"].split()[1])).account_id
    await api.engine.ledger.record(account_id=account_id, asset_id=asset["id"], kind=UsageKind.AI_OPERATION, quantity=1, cost_usd=0.0042)
    got = (await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)).json()
    assert got["cost"] == "$0.0042"
    assert (await api.http.get("/v1/usage", headers=headers)).json()["breakdown"]["ai_operations"] == 1


async def test_one_error_shape_and_openapi(api: ApiClient) -> None:
    missing = await api.http.get("/v1/nothing-here")
    assert missing.status_code == 404 and set(missing.json()["error"]) >= {"code", "message"}
    wrong_method = await api.http.put("/v1/assets")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    spec = (await api.http.get("/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert {"/v1/assets", "/v1/assets/{asset_id}", "/v1/usage"} <= set(spec["paths"])
    refs = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(spec))
    assert refs and all(ref.removeprefix("#/components/schemas/") in spec["components"]["schemas"] for ref in refs)
    assert (await api.http.get("/docs")).status_code == 200


async def test_auth_off_serves_the_owner(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path, auth=AuthMode.OFF)) as api:
        http = api.http
        assert (await http.post("/v1/assets", files={"file": ("a.png", image_bytes(5, 5, "png"))})).status_code == 201
        assert (await http.get("/v1/assets")).json()["total"] == 1
