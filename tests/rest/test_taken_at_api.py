"""Taken and uploaded times over REST: the asset JSON, ``POST /v1/search`` filters (the spec's ``date_after``
still meaning the upload), ``GET /v1/assets`` taken filters and sort, and bad dates refused with 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import ApiClient
from tests.factories import image_bytes, jpeg_with_exif


async def put(api: ApiClient, headers: dict[str, str], data: bytes, name: str) -> dict[str, object]:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()


async def test_taken_and_uploaded_filters_sorting_and_bad_dates(api: ApiClient) -> None:
    headers = await api.account()
    june = await put(api, headers, jpeg_with_exif(taken="2024:06:15 10:30:00", offset="+02:00"), "june.jpg")
    may = await put(api, headers, jpeg_with_exif(taken="2024:05:20 08:00:00"), "may.jpg")
    today = await put(api, headers, image_bytes(30, 20, "png"), "today.png")
    assert june["taken_at"] == "2024-06-15T10:30:00+02:00" and june["created_at"] != june["taken_at"]
    assert today["taken_at"] == today["created_at"]

    async def search(body: dict[str, object]) -> list[str]:
        response = await api.http.post("/v1/search", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return [hit["filename"] for hit in response.json()["results"]]

    assert await search({"query": "photos taken in June 2024"}) == ["june.jpg"]
    assert await search({"filters": {"taken_after": "2024-05-01", "taken_before": "2024-07-01"}}) == ["may.jpg", "june.jpg"]
    assert await search({"filters": {"taken_before": "2024-07-01", "uploaded_before": "2024-07-01"}}) == []
    # The picsha spec's date_after/date_before still work and still mean the upload time.
    assert await search({"filters": {"date_before": "2024-07-01"}}) == []
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    answer = (await api.http.post("/v1/search", headers=headers, json={"filters": {"date_after": yesterday}})).json()
    assert answer["total"] == 3 and answer["filters"]["uploaded_after"] == yesterday
    hit = next(h for h in answer["results"] if h["filename"] == "june.jpg")
    assert hit["taken_at"] == "2024-06-15T10:30:00+02:00"

    listed = await api.http.get("/v1/assets", headers=headers,
                                params={"taken_after": "2024-06-01", "taken_before": "2024-07-01"})
    assert listed.status_code == 200 and [a["filename"] for a in listed.json()["items"]] == ["june.jpg"]
    oldest_first = await api.http.get("/v1/assets", headers=headers, params={"sort": "taken_at", "order": "asc"})
    assert [a["filename"] for a in oldest_first.json()["items"]] == ["may.jpg", "june.jpg", "today.png"]
    words = await api.http.get("/v1/assets", headers=headers, params={"q": "jpg", "taken_before": "2024-06-01"})
    assert [a["filename"] for a in words.json()["items"]] == ["may.jpg"]

    for params in ({"taken_after": "June"}, {"sort": "shot_at"}):
        response = await api.http.get("/v1/assets", headers=headers, params=params)
        assert 400 <= response.status_code < 500, response.text
        error = response.json()["error"]
        assert error["code"] and next(iter(params)) in error["message"]
    assert "taken_at" in (await api.http.get("/v1/assets", headers=headers, params={"sort": "x"})).json()["error"]["message"]
    for filters, named in (({"taken_after": "2024-13-01"}, "taken_after"),
                           ({"taken_after": "2024-07-01", "taken_before": "2024-06-01"}, "later than taken_before"),
                           ({"date_after": "2024-01-01", "uploaded_after": "2025-01-01"}, "old name of uploaded_after"),
                           ({"shot_after": "2024-01-01"}, "shot_after")):
        response = await api.http.post("/v1/search", headers=headers, json={"query": "x", "filters": filters})
        assert 400 <= response.status_code < 500 and named in response.json()["error"]["message"], response.text
