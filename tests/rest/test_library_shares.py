"""Share links over a real HTTP server: the owner's routes, the public page, passwords, ZIPs, revocation."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import httpx2

from engine.catalog import tables
from engine.catalog.database import now
from tests.conftest import ApiClient, LiveServer
from tests.factories import image_bytes, make_key


def live_client(server: LiveServer) -> httpx2.Client:
    return httpx2.Client(base_url=server.url, timeout=30)


def test_a_collection_shared_with_a_password(live_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {make_key(live_server.settings)}"}
    with live_client(live_server) as http:
        ids = []
        for n in range(2):
            made = http.post("/v1/assets", headers=headers, files={"file": (f"p{n}.jpg", image_bytes(80 + n, 60))})
            ids.append(made.json()["id"])
        col = (http.post("/v1/collections", headers=headers, json={"name": "Holiday <3"})).json()
        http.post(f"/v1/collections/{col['id']}/assets", headers=headers, json={"asset_ids": ids})
        made = http.post("/v1/shares", headers=headers, json={
            "target_type": "collection", "target_id": col["id"], "expires_in_days": 7, "password": "open sesame"})
        assert made.status_code == 201, made.text
        share = made.json()
        assert share["has_password"] and share["expires_at"] and share["url"].startswith(live_server.url + "/s/")
        path = share["url"].removeprefix(live_server.url)
        listed = (http.get("/v1/shares", headers=headers)).json()["items"]
        assert [s["url"] for s in listed] == [share["url"]]

    with live_client(live_server) as visitor:  # no key, no cookie
        locked = visitor.get(path)
        assert locked.status_code == 401 and 'type="password"' in locked.text and "p0.jpg" not in locked.text
        assert "nonce-" in locked.headers["content-security-policy"]
        assert (visitor.get(f"{path}/download")).status_code == 401
        wrong = visitor.post(path, content=b"password=nope", headers={"content-type": "application/x-www-form-urlencoded"})
        assert wrong.status_code == 403 and "not right" in wrong.text
        right = visitor.post(path, content=b"password=open+sesame",
                                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert right.status_code == 303 and "httponly" in right.headers["set-cookie"].lower()
        page = visitor.get(path)
        assert page.status_code == 200 and "Holiday &lt;3" in page.text and "<3" not in page.text.split("<body>")[1][:200]
        thumbs = re.findall(r'<img src="([^"]+)"', page.text)
        assert len(thumbs) == 2
        shown = visitor.get(thumbs[0].replace("&amp;", "&"))
        assert shown.status_code == 200 and shown.headers["content-type"].startswith("image/")
        archive = visitor.get(f"{path}/download")
        assert archive.status_code == 200
        assert sorted(zipfile.ZipFile(io.BytesIO(archive.content)).namelist()) == ["p0.jpg", "p1.jpg"]

    with live_client(live_server) as http:
        assert (http.delete(f"/v1/shares/{share['id']}", headers=headers)).status_code == 204
        assert (http.delete(f"/v1/shares/{share['id']}", headers=headers)).status_code == 404
    with live_client(live_server) as visitor:
        gone = visitor.get(path)
        assert gone.status_code == 404 and "not available" in gone.text


async def test_asset_links_expire_are_unguessable_and_hide_trash(api: ApiClient) -> None:
    headers = await api.account()
    asset = (await api.http.post("/v1/assets", headers=headers, files={"file": ("one.jpg", image_bytes(64, 48))})).json()
    share = (await api.http.post("/v1/shares", headers=headers,
                                 json={"target_type": "asset", "target_id": asset["id"]})).json()
    assert share["expires_at"] is None and not share["has_password"]
    path = share["url"].removeprefix("http://testserver")
    page = await api.http.get(path)
    assert page.status_code == 200 and "one.jpg" in page.text
    token = path.removeprefix("/s/")
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), token.split("~")[0], "sh_x~" + token.split("~")[1]):
        assert (await api.http.get(f"/s/{forged}")).status_code == 404
    await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)
    assert (await api.http.get(path)).status_code == 404, "a trashed asset is not shown"
    await api.http.post(f"/v1/assets/{asset['id']}/restore", headers=headers)
    assert (await api.http.get(path)).status_code == 200
    s = tables.shares
    async with api.engine.catalog.begin() as conn:
        await conn.execute(s.update().where(s.c.id == share["id"]).values(expires_at=now() - timedelta(seconds=1)))
    assert (await api.http.get(path)).status_code == 404
    assert (await api.http.get(f"{path}/download")).status_code == 404


async def test_bad_share_requests(api: ApiClient) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    asset = (await api.http.post("/v1/assets", headers=alice, files={"file": ("a.jpg", image_bytes(30, 30))})).json()
    cases = [
        ({"target_type": "asset", "target_id": asset["id"]}, bob, 404),
        ({"target_type": "folder", "target_id": asset["id"]}, alice, 400),
        ({"target_type": "collection", "target_id": "col_none"}, alice, 404),
        ({"target_type": "asset", "target_id": asset["id"], "expires_in_days": 0}, alice, 400),
        ({"target_type": "asset", "target_id": asset["id"], "password": "abc"}, alice, 400),
    ]
    for body, headers, status in cases:
        assert (await api.http.post("/v1/shares", headers=headers, json=body)).status_code == status, body
    share = (await api.http.post("/v1/shares", headers=alice, json={"target_type": "asset", "target_id": asset["id"]})).json()
    assert (await api.http.get("/v1/shares", headers=bob)).json() == {"items": []}
    assert (await api.http.delete(f"/v1/shares/{share['id']}", headers=bob)).status_code == 404
    assert (await api.http.get("/v1/shares")).status_code == 401
