"""POST /v1/assets/bulk: every action in one request, a job when large, and a streamed ZIP."""

from __future__ import annotations

import io
import zipfile

import sqlalchemy as sa

from engine.catalog import tables
from tests.conftest import ApiClient
from tests.factories import image_bytes


async def put(api: ApiClient, headers: dict[str, str], data: bytes, name: str) -> dict:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()


async def bulk(api: ApiClient, headers: dict[str, str], **body: object) -> dict:
    response = await api.http.post("/v1/assets/bulk", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_action_on_many_assets(api: ApiClient) -> None:
    headers = await api.account()
    assets = [await put(api, headers, image_bytes(40 + n, 30), f"{n}.jpg") for n in range(3)]
    ids = [a["id"] for a in assets]
    tagged = await bulk(api, headers, action="tag", asset_ids=ids + ["as_nope"], tags=["client", "2026"])
    assert tagged == {"action": "tag", "done": 3, "failed": [{"id": "as_nope", "code": "asset_not_found"}],
                      "job_id": None}
    await bulk(api, headers, action="untag", asset_ids=ids[:1], tags=["CLIENT"])
    tags = {a["id"]: a["tags"] for a in (await api.http.get("/v1/assets", headers=headers)).json()["items"]}
    assert tags == {ids[0]: ["2026"], ids[1]: ["client", "2026"], ids[2]: ["client", "2026"]}
    col = (await api.http.post("/v1/collections", headers=headers, json={"name": "c"})).json()
    added = await bulk(api, headers, action="add_to_collection", asset_ids=ids[1:], collection_id=col["id"])
    assert added["done"] == 2
    assert (await api.http.get(f"/v1/collections/{col['id']}", headers=headers)).json()["asset_ids"] == ids[1:]
    assert (await bulk(api, headers, action="trash", asset_ids=ids))["done"] == 3
    restored = await bulk(api, headers, action="restore", asset_ids=ids[:2])
    assert restored["done"] == 2
    assert [a["id"] for a in (await api.http.get("/v1/assets/trash", headers=headers)).json()["items"]] == ids[2:]
    purged = await bulk(api, headers, action="purge", asset_ids=ids[1:])
    assert purged["done"] == 2 and purged["failed"] == []
    assert [a["id"] for a in (await api.http.get("/v1/assets", headers=headers)).json()["items"]] == ids[:1]


async def test_bad_bulk_requests_are_refused_before_any_work(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(40, 30), "a.jpg")
    cases = [
        ({"action": "tag", "asset_ids": [asset["id"]]}, 400, "bulk_tags_required"),
        ({"action": "add_to_collection", "asset_ids": [asset["id"]]}, 400, "bulk_collection_required"),
        ({"action": "move", "asset_ids": [asset["id"]], "folder_id": "fld_nope"}, 404, "folder_not_found"),
        ({"action": "add_to_collection", "asset_ids": [asset["id"]], "collection_id": "col_x"}, 404,
         "collection_not_found"),
        ({"action": "explode", "asset_ids": [asset["id"]]}, 400, None),
        ({"action": "trash", "asset_ids": []}, 400, None),
        ({"action": "trash", "asset_ids": ["as_x"] * 1001}, 400, None),
    ]
    for body, status, code in cases:
        response = await api.http.post("/v1/assets/bulk", headers=headers, json=body)
        assert response.status_code == status, (body, response.text)
        if code:
            assert response.json()["error"]["code"] == code
    assert (await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)).status_code == 200


async def test_more_than_a_hundred_ids_run_as_a_job(api: ApiClient) -> None:
    headers = await api.account()
    assets = [await put(api, headers, image_bytes(20 + n, 20, "png"), f"{n}.png") for n in range(3)]
    ids = [a["id"] for a in assets] + [f"as_missing{n}" for n in range(120)]
    response = await api.http.post("/v1/assets/bulk", headers=headers,
                                   json={"action": "tag", "asset_ids": ids, "tags": ["batch"]})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/v1/jobs/{job_id}"
    assert await api.engine.jobs.wait(job_id, 60)
    job = (await api.http.get(f"/v1/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "ready", job
    assert job["result"]["done"] == 3 and len(job["result"]["failed"]) == 120
    items = (await api.http.get("/v1/assets", headers=headers)).json()["items"]
    assert all(item["tags"] == ["batch"] for item in items)


async def test_download_streams_a_zip_of_the_originals(api: ApiClient) -> None:
    headers = await api.account()
    one, two = image_bytes(33, 21), image_bytes(34, 21)
    first, second = await put(api, headers, one, "same.jpg"), await put(api, headers, two, "same.jpg")
    response = await api.http.post("/v1/assets/bulk", headers=headers,
                                   json={"action": "download", "asset_ids": [first["id"], second["id"], "as_x"]})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["same.jpg", "same-2.jpg"]
    assert archive.read("same.jpg") == one and archive.read("same-2.jpg") == two
    other = await api.account("other")
    theirs = await api.http.post("/v1/assets/bulk", headers=other,
                                 json={"action": "download", "asset_ids": [first["id"]]})
    assert zipfile.ZipFile(io.BytesIO(theirs.content)).namelist() == [], "only the caller's assets"
    u = tables.usage_events
    async with api.engine.catalog.connect() as conn:
        delivered = await conn.scalar(sa.select(sa.func.count()).select_from(u).where(
            u.c.kind == "bandwidth", u.c.asset_id.in_([first["id"], second["id"]])))
    assert delivered == 2, "each delivery is in the usage ledger"
