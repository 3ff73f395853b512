"""``POST /v1/search`` and ``GET /v1/assets?q=`` over REST: shape, filters, paging, isolation, validation."""

from __future__ import annotations

from tests.conftest import ApiClient
from tests.factories import image_bytes, pdf_bytes


async def put(api: ApiClient, headers: dict[str, str], data: bytes, name: str, **fields: str) -> str:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)}, data=fields)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_search_finds_by_words_with_signed_thumbnails_and_pages(api: ApiClient) -> None:
    headers = await api.account()
    harbour = await put(api, headers, image_bytes(40, 30), "harbour.jpg", description="boats in the harbour at dusk",
                        tags="sea,boats")
    boats = await put(api, headers, image_bytes(30, 30), "boats.jpg", description="boats")
    await put(api, headers, pdf_bytes(1), "minutes.pdf", description="meeting minutes")
    response = await api.http.post("/v1/search", headers=headers, json={"query": "boats harbour", "limit": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2 and [r["id"] for r in body["results"]] == [harbour]
    hit = body["results"][0]
    assert set(hit) >= {"id", "score", "url", "filename", "type", "tags", "created_at"}
    assert hit["filename"] == "harbour.jpg" and hit["tags"] == ["sea", "boats"] and 0 < hit["score"] <= 1
    asset = (await api.http.get(f"/v1/assets/{harbour}", headers=headers)).json()
    assert hit["url"] == asset["urls"]["thumbnail"] and "sig=" in hit["url"]
    page2 = (await api.http.post("/v1/search", headers=headers, json={"query": "boats harbour", "limit": 1, "offset": 1})).json()
    assert [r["id"] for r in page2["results"]] == [boats]
    filtered = (await api.http.post("/v1/search", headers=headers, json={"query": "boats", "filters": {"tags": ["sea"]}})).json()
    assert [r["id"] for r in filtered["results"]] == [harbour]
    docs = (await api.http.post("/v1/search", headers=headers, json={"query": "", "filters": {"type": "document"}})).json()
    assert [r["filename"] for r in docs["results"]] == ["minutes.pdf"]


async def test_search_never_crosses_accounts(api: ApiClient) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    await put(api, alice, image_bytes(20, 20), "secret.jpg", description="launch codes")
    assert (await api.http.post("/v1/search", headers=bob, json={"query": "launch codes"})).json()["results"] == []
    listed = (await api.http.get("/v1/assets", headers=bob, params={"q": "launch codes"})).json()
    assert listed["total"] == 0 and listed["items"] == []
    mine = (await api.http.get("/v1/assets", headers=alice, params={"q": "launch codes"})).json()
    assert mine["total"] == 1 and mine["items"][0]["filename"] == "secret.jpg"


async def test_bad_search_requests_get_clear_4xx(api: ApiClient) -> None:
    headers = await api.account()
    for body in ({"query": "x", "limit": 101}, {"query": "x", "filters": {"type": "video"}}, {"query": "x", "color": 1},
                 {"query": "x", "filters": {"near": {"lat": 99, "lon": 0}}}):
        response = await api.http.post("/v1/search", headers=headers, json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.json()["error"]["code"] and response.json()["error"]["message"]
    assert (await api.http.post("/v1/search", json={"query": "x"})).status_code == 401


async def test_a_query_of_only_filters_pages_newest_first_with_a_counted_total(api: ApiClient) -> None:
    headers = await api.account()
    photos = [await put(api, headers, image_bytes(20, 20), f"p{n}.jpg") for n in range(3)]
    await put(api, headers, pdf_bytes(1), "minutes.pdf")
    newest_first = [a["id"] for a in (await api.http.get("/v1/assets", headers=headers, params={"type": "image"})).json()["items"]]
    assert sorted(newest_first) == sorted(photos)
    pages = [(await api.http.get("/v1/assets", headers=headers, params={"q": "photos", "page": n, "page_size": 2})).json()
             for n in (1, 2, 3)]
    assert [p["total"] for p in pages] == [3, 3, 3]
    assert [a["id"] for p in pages for a in p["items"]] == newest_first and pages[2]["items"] == []
    found = (await api.http.post("/v1/search", headers=headers, json={"query": "photos", "limit": 1, "offset": 1})).json()
    assert found["total"] == 3 and [r["id"] for r in found["results"]] == newest_first[1:2]
    assert found["paths"] == ["filter"] and found["filters"]["type"] == "image"
