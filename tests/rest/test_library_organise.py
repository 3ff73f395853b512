"""The media library over REST: trash, tag edits, folders and collections."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.catalog import tables
from engine.catalog.database import now
from tests.conftest import ApiClient
from tests.factories import image_bytes


async def put(api: ApiClient, headers: dict[str, str], data: bytes, name: str, **fields: str) -> dict:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)}, data=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def listed(api: ApiClient, headers: dict[str, str], **params: str) -> list[str]:
    response = await api.http.get("/v1/assets", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# -- trash --------------------------------------------------------------------------------------------------

async def test_delete_moves_to_the_trash_and_restore_brings_it_back(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(120, 80), "beach.jpg", tags='["sea"]')
    keep = await put(api, headers, image_bytes(121, 80), "other.jpg")
    trashed = await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)
    assert trashed.status_code == 200 and trashed.json()["trashed_at"]
    # hidden from the asset routes, lists, search and renders; shown in the trash
    assert (await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)).status_code == 404
    assert (await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers)).status_code == 404
    assert (await api.http.get(asset["urls"]["thumbnail"].removeprefix("http://testserver"))).status_code == 404
    assert await listed(api, headers) == [keep["id"]]
    found = (await api.http.post("/v1/search", headers=headers, json={"query": "beach"})).json()
    assert asset["id"] not in [hit["id"] for hit in found["results"]]
    by_tag = (await api.http.post("/v1/search", headers=headers, json={"filters": {"tags": ["sea"]}})).json()
    assert by_tag["results"] == []
    trash = (await api.http.get("/v1/assets/trash", headers=headers)).json()
    assert [item["id"] for item in trash["items"]] == [asset["id"]] and trash["total"] == 1
    assert trash["items"][0]["trashed_at"]
    # a second delete finds nothing to trash; restore brings it back everywhere
    assert (await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)).status_code == 404
    restored = await api.http.post(f"/v1/assets/{asset['id']}/restore", headers=headers)
    assert restored.status_code == 200 and "trashed_at" not in restored.json()
    assert set(await listed(api, headers)) == {asset["id"], keep["id"]}
    by_tag = (await api.http.post("/v1/search", headers=headers, json={"filters": {"tags": ["sea"]}})).json()
    assert [hit["id"] for hit in by_tag["results"]] == [asset["id"]]
    assert (await api.http.get(asset["urls"]["thumbnail"].removeprefix("http://testserver"))).status_code == 200
    again = await api.http.post(f"/v1/assets/{asset['id']}/restore", headers=headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "asset_not_found"


async def test_purge_deletes_for_good_and_frees_the_blob(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(90, 60), "gone.jpg")
    blob = f"originals/{asset['meta']['sha256'][:2]}/{asset['meta']['sha256']}"
    await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)
    assert await api.engine.store.exists(blob), "the trash keeps the bytes"
    purged = await api.http.delete(f"/v1/assets/{asset['id']}?purge=true", headers=headers)
    assert purged.status_code == 200 and purged.json()["id"] == asset["id"]
    assert not await api.engine.store.exists(blob)
    assert (await api.http.get("/v1/assets/trash", headers=headers)).json()["total"] == 0


async def test_batch_delete_trashes_unless_purge(api: ApiClient) -> None:
    headers = await api.account()
    one, two = [await put(api, headers, image_bytes(20 + n, 10), f"{n}.jpg") for n in range(2)]
    moved = await api.http.post("/v1/assets/batch-delete", headers=headers, json={"ids": [one["id"], "as_nope"]})
    assert moved.json() == {"requested": 2, "deleted": 1, "not_found_ids": ["as_nope"]}
    assert (await api.http.get("/v1/assets/trash", headers=headers)).json()["total"] == 1
    gone = await api.http.post("/v1/assets/batch-delete", headers=headers,
                               json={"ids": [one["id"], two["id"]], "purge": True})
    assert gone.json()["deleted"] == 2
    assert (await api.http.get("/v1/assets/trash", headers=headers)).json()["total"] == 0
    assert await listed(api, headers) == []


async def test_the_trash_empties_itself_after_the_keep_time(api: ApiClient) -> None:
    headers = await api.account()
    old = await put(api, headers, image_bytes(70, 50), "old.jpg")
    recent = await put(api, headers, image_bytes(71, 50), "recent.jpg")
    for asset in (old, recent):
        await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)
    a = tables.assets
    keep = api.engine.settings.trash.keep_days
    async with api.engine.catalog.begin() as conn:
        await conn.execute(a.update().where(a.c.id == old["id"]).values(trashed_at=now() - timedelta(days=keep + 1)))
    assert await api.engine.library.trash.purge_expired() == 1
    assert await api.engine.library.trash.purge_expired() == 0, "a second run (another process) finds nothing"
    trash = (await api.http.get("/v1/assets/trash", headers=headers)).json()
    assert [item["id"] for item in trash["items"]] == [recent["id"]]
    async with api.engine.catalog.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(a).where(a.c.id == old["id"])) == 0


async def test_the_trash_is_per_account(api: ApiClient) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    asset = await put(api, alice, image_bytes(40, 40), "a.jpg")
    assert (await api.http.delete(f"/v1/assets/{asset['id']}", headers=bob)).status_code == 404
    await api.http.delete(f"/v1/assets/{asset['id']}", headers=alice)
    assert (await api.http.get("/v1/assets/trash", headers=bob)).json()["total"] == 0
    assert (await api.http.post(f"/v1/assets/{asset['id']}/restore", headers=bob)).status_code == 404
    assert (await api.http.delete(f"/v1/assets/{asset['id']}?purge=true", headers=bob)).status_code == 404


# -- tags ---------------------------------------------------------------------------------------------------

async def test_tags_are_added_and_removed_in_place(api: ApiClient) -> None:
    headers = await api.account()
    asset = await put(api, headers, image_bytes(60, 40), "t.jpg", tags='["Sea", "sky"]')
    added = await api.http.post(f"/v1/assets/{asset['id']}/tags", headers=headers, json={"tags": ["sea", " boat "]})
    assert added.status_code == 200 and added.json()["tags"] == ["Sea", "sky", "boat"]
    found = (await api.http.post("/v1/search", headers=headers, json={"filters": {"tags": ["boat"]}})).json()
    assert [hit["id"] for hit in found["results"]] == [asset["id"]], "the index follows"
    removed = await api.http.delete(f"/v1/assets/{asset['id']}/tags/SEA", headers=headers)
    assert removed.status_code == 200 and removed.json()["tags"] == ["sky", "boat"]
    found = (await api.http.post("/v1/search", headers=headers, json={"filters": {"tags": ["sea"]}})).json()
    assert found["results"] == []
    refused = await api.http.post(f"/v1/assets/{asset['id']}/tags", headers=headers, json={"tags": []})
    assert refused.status_code == 400
    missing = await api.http.post("/v1/assets/as_nothing/tags", headers=headers, json={"tags": ["x"]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "asset_not_found"
    crowded = await api.http.post(f"/v1/assets/{asset['id']}/tags", headers=headers,
                                  json={"tags": [f"t{n}" for n in range(99)]})
    assert crowded.status_code == 400 and crowded.json()["error"]["code"] == "too_many_tags"


# -- folders ------------------------------------------------------------------------------------------------

async def test_folders_form_a_tree_without_cycles(api: ApiClient) -> None:
    headers = await api.account()
    trips = (await api.http.post("/v1/folders", headers=headers, json={"name": "Trips"})).json()
    rome = await api.http.post("/v1/folders", headers=headers, json={"name": "Rome", "parent_id": trips["id"]})
    assert rome.status_code == 201
    rome = rome.json()
    assert rome["path"] == "Trips/Rome" and rome["parent_id"] == trips["id"] and rome["asset_count"] == 0
    cycle = await api.http.patch(f"/v1/folders/{trips['id']}", headers=headers, json={"parent_id": rome["id"]})
    assert cycle.status_code == 409 and cycle.json()["error"]["code"] == "folder_cycle"
    itself = await api.http.patch(f"/v1/folders/{trips['id']}", headers=headers, json={"parent_id": trips["id"]})
    assert itself.status_code == 409
    renamed = await api.http.patch(f"/v1/folders/{rome['id']}", headers=headers, json={"name": "Roma"})
    assert renamed.json()["path"] == "Trips/Roma"
    top = await api.http.patch(f"/v1/folders/{rome['id']}", headers=headers, json={"parent_id": None})
    assert top.json()["path"] == "Roma" and top.json()["parent_id"] is None
    unknown = await api.http.post("/v1/folders", headers=headers, json={"name": "x", "parent_id": "fld_nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "folder_not_found"
    blank = await api.http.post("/v1/folders", headers=headers, json={"name": "  "})
    assert blank.status_code == 400
    other = await api.account("other")
    assert (await api.http.get("/v1/folders", headers=other)).json() == {"items": []}
    assert (await api.http.patch(f"/v1/folders/{trips['id']}", headers=other, json={"name": "x"})).status_code == 404


async def test_assets_move_into_folders_and_up_when_one_is_deleted(api: ApiClient) -> None:
    headers = await api.account()
    trips = (await api.http.post("/v1/folders", headers=headers, json={"name": "Trips"})).json()
    rome = (await api.http.post("/v1/folders", headers=headers, json={"name": "Rome", "parent_id": trips["id"]})).json()
    one, two, three = [await put(api, headers, image_bytes(30 + n, 30), f"{n}.jpg") for n in range(3)]
    moved = await api.http.post("/v1/assets/bulk", headers=headers,
                                json={"action": "move", "asset_ids": [one["id"], two["id"]], "folder_id": rome["id"]})
    assert moved.status_code == 200 and moved.json()["done"] == 2, moved.text
    assert (await api.http.get(f"/v1/assets/{one['id']}", headers=headers)).json()["folder_id"] == rome["id"]
    assert sorted(await listed(api, headers, folder_id=rome["id"])) == sorted([one["id"], two["id"]])
    assert await listed(api, headers, folder_id="root") == [three["id"]]
    folders = {f["name"]: f for f in (await api.http.get("/v1/folders", headers=headers)).json()["items"]}
    assert folders["Rome"]["asset_count"] == 2 and folders["Trips"]["asset_count"] == 0
    await api.http.delete(f"/v1/assets/{two['id']}", headers=headers)
    folders = {f["name"]: f for f in (await api.http.get("/v1/folders", headers=headers)).json()["items"]}
    assert folders["Rome"]["asset_count"] == 1, "trashed assets are not counted"
    assert (await api.http.delete(f"/v1/folders/{rome['id']}", headers=headers)).status_code == 204
    assert await listed(api, headers, folder_id=trips["id"]) == [one["id"]]
    await api.http.post(f"/v1/assets/{two['id']}/restore", headers=headers)
    assert (await api.http.get(f"/v1/assets/{two['id']}", headers=headers)).json()["folder_id"] == trips["id"]
    await api.http.delete(f"/v1/folders/{trips['id']}", headers=headers)
    assert len(await listed(api, headers, folder_id="root")) == 3
    assert (await api.http.get("/v1/folders", headers=headers)).json() == {"items": []}


# -- collections --------------------------------------------------------------------------------------------

async def test_collections_keep_order_and_hold_an_asset_in_many(api: ApiClient) -> None:
    headers = await api.account()
    a, b, c = [await put(api, headers, image_bytes(50 + n, 30), f"{n}.jpg") for n in range(3)]
    made = await api.http.post("/v1/collections", headers=headers, json={"name": "Best", "description": "picks"})
    assert made.status_code == 201
    best = made.json()
    other = (await api.http.post("/v1/collections", headers=headers, json={"name": "Other"})).json()
    url = f"/v1/collections/{best['id']}"
    added = await api.http.post(f"{url}/assets", headers=headers, json={"asset_ids": [a["id"], c["id"], "as_nope"]})
    assert added.json()["asset_ids"] == [a["id"], c["id"]]
    between = await api.http.post(f"{url}/assets", headers=headers, json={"asset_ids": [b["id"]], "position": 1})
    assert between.json()["asset_ids"] == [a["id"], b["id"], c["id"]]
    first = await api.http.post(f"{url}/assets", headers=headers, json={"asset_ids": [c["id"]], "position": 0})
    assert first.json()["asset_ids"] == [c["id"], a["id"], b["id"]], "an asset already there moves"
    await api.http.post(f"/v1/collections/{other['id']}/assets", headers=headers, json={"asset_ids": [a["id"]]})
    assert sorted(await listed(api, headers, collection_id=best["id"])) == sorted([a["id"], b["id"], c["id"]])
    assert await listed(api, headers, collection_id=other["id"]) == [a["id"]]
    summary = {item["name"]: item for item in (await api.http.get("/v1/collections", headers=headers)).json()["items"]}
    assert summary["Best"]["asset_count"] == 3 and summary["Best"]["cover_asset_id"] == c["id"]
    assert summary["Best"]["description"] == "picks"
    await api.http.delete(f"/v1/assets/{c['id']}", headers=headers)
    got = (await api.http.get(url, headers=headers)).json()
    assert got["asset_ids"] == [a["id"], b["id"]] and got["cover_asset_id"] == a["id"] and got["asset_count"] == 2
    assert (await api.http.delete(f"{url}/assets/{a['id']}", headers=headers)).status_code == 204
    assert (await api.http.delete(f"{url}/assets/{a['id']}", headers=headers)).status_code == 404
    renamed = await api.http.patch(url, headers=headers, json={"name": "Finest"})
    assert renamed.json()["name"] == "Finest" and renamed.json()["description"] == "picks"
    assert (await api.http.delete(url, headers=headers)).status_code == 204
    assert (await api.http.get(url, headers=headers)).json()["error"]["code"] == "collection_not_found"
    assert (await api.http.get(f"/v1/assets/{a['id']}", headers=headers)).status_code == 200, "assets stay"
    stranger = await api.account("stranger")
    assert (await api.http.get(f"/v1/collections/{other['id']}", headers=stranger)).status_code == 404
    sneaky = await api.http.post(f"/v1/collections/{other['id']}/assets", headers=stranger,
                                 json={"asset_ids": [b["id"]]})
    assert sneaky.status_code == 404
