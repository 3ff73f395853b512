"""File versions: replacing an asset's file keeps the old one; restoring brings it back; purge frees them."""

from __future__ import annotations

import pyvips
import sqlalchemy as sa

from engine.catalog import tables

from tests.conftest import ApiClient
from tests.factories import image_bytes


def blob_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"


async def test_replace_keeps_the_old_file_as_a_version_and_restore_brings_it_back(api: ApiClient) -> None:
    headers = await api.account()
    first, second = image_bytes(120, 80), image_bytes(60, 90, "png")
    asset = (await api.http.post("/v1/assets", headers=headers, files={"file": ("one.jpg", first)})).json()
    assert asset["version"] == 1
    replaced = await api.http.put(f"/v1/assets/{asset['id']}/file", headers=headers, files={"file": ("two.png", second)})
    assert replaced.status_code == 200, replaced.text
    now = replaced.json()
    assert now["version"] == 2 and now["meta"]["format"] == "png" and (now["meta"]["width"], now["meta"]["height"]) == (60, 90)
    assert now["filename"] == "two.png" and now["id"] == asset["id"]
    content = await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers)
    assert content.content == second
    thumb = await api.http.get(now["urls"]["thumbnail"].removeprefix("http://testserver"))
    assert thumb.status_code == 200
    shown = pyvips.Image.new_from_buffer(thumb.content, "")
    assert shown.height > shown.width, "the thumbnail follows the new (portrait) file"
    versions = (await api.http.get(f"/v1/assets/{asset['id']}/versions", headers=headers)).json()["items"]
    assert [(v["version"], v["current"], v["mime_type"]) for v in versions] == [(2, True, "image/png"),
                                                                              (1, False, "image/jpeg")]
    assert versions[1]["size"] == len(first) and versions[1]["filename"] == "one.jpg"
    assert await api.engine.store.exists(blob_key(asset["meta"]["sha256"])), "the old version holds its bytes"
    found = (await api.http.post("/v1/search", headers=headers, json={"query": "two"})).json()
    assert [hit["id"] for hit in found["results"]].count(asset["id"]) == 1, "the index follows the new file's name"
    account_id = await api.engine.catalog.lookup(
        lambda conn: conn.scalar(sa.select(tables.assets.c.account_id).where(tables.assets.c.id == asset["id"])))
    assert await api.engine.search.index.count(account_id) == 1, "one row per asset, whatever its versions"

    restored = await api.http.post(f"/v1/assets/{asset['id']}/versions/1/restore", headers=headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3 and restored.json()["meta"]["sha256"] == asset["meta"]["sha256"]
    assert (await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers)).content == first
    versions = (await api.http.get(f"/v1/assets/{asset['id']}/versions", headers=headers)).json()["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    missing = await api.http.post(f"/v1/assets/{asset['id']}/versions/9/restore", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found"

    purged = await api.http.delete(f"/v1/assets/{asset['id']}?purge=true", headers=headers)
    assert purged.status_code == 200
    assert not await api.engine.store.exists(blob_key(asset["meta"]["sha256"]))
    assert not await api.engine.store.exists(blob_key(now["meta"]["sha256"])), "every version's bytes go"


async def test_a_bad_replacement_changes_nothing(api: ApiClient) -> None:
    headers = await api.account()
    data = image_bytes(50, 40)
    asset = (await api.http.post("/v1/assets", headers=headers, files={"file": ("a.jpg", data)})).json()
    refused = await api.http.put(f"/v1/assets/{asset['id']}/file", headers=headers,
                                 files={"file": ("evil.exe", b"MZ\x90\x00" + b"\x00" * 200)})
    assert refused.status_code == 415, refused.text
    empty = await api.http.put(f"/v1/assets/{asset['id']}/file", headers=headers, data={"x": "y"}, files={"y": ("", b"")})
    assert empty.status_code == 400
    unchanged = (await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)).json()
    assert unchanged["version"] == 1 and unchanged["meta"]["sha256"] == asset["meta"]["sha256"]
    assert len((await api.http.get(f"/v1/assets/{asset['id']}/versions", headers=headers)).json()["items"]) == 1
    other = await api.account("other")
    theirs = await api.http.put(f"/v1/assets/{asset['id']}/file", headers=other, files={"file": ("b.jpg", data)})
    assert theirs.status_code == 404
    assert (await api.http.get(f"/v1/assets/{asset['id']}/versions", headers=other)).status_code == 404


async def test_a_tool_result_saved_onto_the_asset_keeps_the_old_file(api: ApiClient) -> None:
    headers = await api.account()
    original = image_bytes(200, 150)
    asset = (await api.http.post("/v1/assets", headers=headers, files={"file": ("photo.jpg", original)})).json()
    cropped = await api.http.post("/v1/tools/crop", headers=headers, json={
        "asset_id": asset["id"], "settings": {"width": 100, "height": 80}, "as_version": True})
    assert cropped.status_code == 200, cropped.text
    now = cropped.json()
    assert now["id"] == asset["id"] and now["version"] == 2 and (now["meta"]["width"], now["meta"]["height"]) == (100, 80)
    versions = (await api.http.get(f"/v1/assets/{asset['id']}/versions", headers=headers)).json()["items"]
    assert [(v["version"], v["size"]) for v in versions][1] == (1, len(original))
    assert (await api.http.get("/v1/assets", headers=headers)).json()["total"] == 1, "no new asset"
    two = await api.http.post("/v1/tools/crop", headers=headers, json={
        "asset_ids": [asset["id"], asset["id"]], "settings": {"width": 10, "height": 10}, "as_version": True})
    assert two.status_code == 400 and two.json()["error"]["code"] == "tool_input_count"
