"""Finding by what the analyses stored: near-duplicates by perceptual hash, and colour in lists and search."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from tests.conftest import ApiClient


def picture(size: tuple[int, int], background: tuple[int, int, int], box: tuple[float, float, float, float]) -> bytes:
    """A flat background with a white box at fractions of the size: alike at any size, unlike with another box."""
    image = Image.new("RGB", size, background)
    w, h = size
    ImageDraw.Draw(image).rectangle((box[0] * w, box[1] * h, box[2] * w, box[3] * h), fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def analysed(api: ApiClient, headers: dict[str, str], data: bytes, name: str) -> str:
    asset = (await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)})).json()
    principal = await api.engine.keys.authenticate(headers["Authorization"].split()[1])
    run = await api.engine.enrich.run_skill(principal, asset["id"], "colors")
    assert run.succeeded
    return asset["id"]


async def test_near_duplicates_and_colours(api: ApiClient) -> None:
    headers = await api.account()
    red = await analysed(api, headers, picture((320, 240), (210, 30, 30), (0.1, 0.1, 0.4, 0.5)), "red.png")
    red_small = await analysed(api, headers, picture((160, 120), (210, 30, 30), (0.1, 0.1, 0.4, 0.5)), "red-small.png")
    blue = await analysed(api, headers, picture((320, 240), (30, 40, 200), (0.5, 0.4, 0.95, 0.9)), "blue.png")

    similar = await api.http.get(f"/v1/assets/{red}/similar", headers=headers, params={"max_distance": 10})
    assert similar.status_code == 200, similar.text
    items = similar.json()["items"]
    assert [item["id"] for item in items] == [red_small] and items[0]["distance"] <= 10
    everything = (await api.http.get(f"/v1/assets/{red}/similar", headers=headers, params={"max_distance": 64})).json()
    assert [item["id"] for item in everything["items"]] == [red_small, blue], "nearest first"
    await api.http.delete(f"/v1/assets/{red_small}", headers=headers)
    after = (await api.http.get(f"/v1/assets/{red}/similar", headers=headers)).json()
    assert after["items"] == [], "trashed assets are not offered"

    reds = (await api.http.get("/v1/assets", headers=headers, params={"color": "#d01e1e"})).json()
    assert [item["id"] for item in reds["items"]] == [red]
    blues = (await api.http.get("/v1/assets", headers=headers, params={"color": "2030c0", "color_distance": 15})).json()
    assert [item["id"] for item in blues["items"]] == [blue]
    green = (await api.http.get("/v1/assets", headers=headers, params={"color": "#00ff00"})).json()
    assert green["items"] == []
    bad = await api.http.get("/v1/assets", headers=headers, params={"color": "reddish"})
    assert bad.status_code == 400 and "hex" in bad.json()["error"]["message"]

    search = await api.http.post("/v1/search", headers=headers, json={"filters": {"color": "#1e28c8"}})
    assert [hit["id"] for hit in search.json()["results"]] == [blue]
    worded = await api.http.post("/v1/search", headers=headers, json={"query": "red", "filters": {"color": "#d21e1e"}})
    assert [hit["id"] for hit in worded.json()["results"]] == [red]
    nothing = await api.http.post("/v1/search", headers=headers, json={"filters": {"color": "#00ff00"}})
    assert nothing.json()["results"] == []


async def test_similar_needs_a_hash_and_an_asset(api: ApiClient) -> None:
    headers = await api.account()
    plain = (await api.http.post("/v1/assets", headers=headers,
                                 files={"file": ("p.png", picture((64, 64), (0, 0, 0), (0, 0, 0.5, 0.5)))})).json()
    unhashed = await api.http.get(f"/v1/assets/{plain['id']}/similar", headers=headers)
    assert unhashed.status_code == 400 and unhashed.json()["error"]["code"] == "asset_not_hashed"
    missing = await api.http.get("/v1/assets/as_nothing/similar", headers=headers)
    assert missing.status_code == 404
    bad = await api.http.get(f"/v1/assets/{plain['id']}/similar", headers=headers, params={"by": "smell"})
    assert bad.status_code == 400
