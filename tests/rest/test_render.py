"""GET /v1/assets/{id}/render over the real app: access, caching headers, negotiation, downloads, errors."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import pyvips

from engine.render import RenderParams
from tests.conftest import ApiClient
from tests.factories import image_bytes, pdf_bytes

BASE = "http://testserver"


async def _upload(api: ApiClient, headers: dict[str, str], data: bytes, name: str) -> dict:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    return response.json()


def _error(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def test_a_signed_url_works_without_a_key_and_is_cached_forever(api: ApiClient) -> None:
    asset = await _upload(api, await api.account(), image_bytes(800, 600), "photo.jpg")
    url = api.engine.render.signed_url(asset["id"], RenderParams(w=200, h=100, format="webp"))
    response = await api.http.get(url.removeprefix(BASE))
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = pyvips.Image.new_from_buffer(response.content, "")
    assert (image.width, image.height) == (200, 100) and response.content[8:12] == b"WEBP"
    assert response.headers["etag"].startswith('"') and "vary" not in response.headers


async def test_tampered_and_expired_signatures_are_refused(api: ApiClient) -> None:
    asset = await _upload(api, await api.account(), image_bytes(300, 200), "photo.jpg")
    url = api.engine.render.signed_url(asset["id"], RenderParams(w=100))
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | {"w": "2000"}
    _error(await api.http.get(f"{parts.path}?{urlencode(query)}"), 403, "signature_invalid")
    other_asset = parts.path.replace(asset["id"], "as_someoneelse")
    _error(await api.http.get(f"{other_asset}?{parts.query}"), 403, "signature_invalid")
    expired = api.engine.render.signed_url(asset["id"], RenderParams(w=100), ttl_s=-5)
    _error(await api.http.get(expired.removeprefix(BASE)), 403, "signature_expired")


async def test_an_unsigned_render_needs_the_accounts_key(api: ApiClient) -> None:
    headers = await api.account("owner")
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    path = f"/v1/assets/{asset['id']}/render?w=50&format=png"
    _error(await api.http.get(path), 401, "auth_required")
    _error(await api.http.get(path, headers=await api.account("stranger")), 404, "asset_not_found")
    response = await api.http.get(path, headers=headers)
    assert response.status_code == 200 and response.content[:4] == b"\x89PNG"
    assert response.headers["cache-control"] == "private, max-age=0, must-revalidate"


async def test_if_none_match_gets_304(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    path = f"/v1/assets/{asset['id']}/render?w=60&format=jpeg"
    first = await api.http.get(path, headers=headers)
    etag = first.headers["etag"]
    again = await api.http.get(path, headers=headers | {"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    other = await api.http.get(f"/v1/assets/{asset['id']}/render?w=61&format=jpeg", headers=headers | {"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


async def test_format_auto_negotiates_and_varies_on_accept(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    path = f"/v1/assets/{asset['id']}/render?w=100"
    avif = await api.http.get(path, headers=headers | {"Accept": "image/avif,image/webp,*/*;q=0.8"})
    webp = await api.http.get(path, headers=headers | {"Accept": "image/webp,*/*"})
    plain = await api.http.get(path, headers=headers | {"Accept": "*/*"})
    assert [r.headers["content-type"] for r in (avif, webp, plain)] == ["image/avif", "image/webp", "image/jpeg"]
    assert all(r.headers["vary"] == "Accept" for r in (avif, webp, plain))
    assert len({r.headers["etag"] for r in (avif, webp, plain)}) == 3


async def test_download_names_the_file_from_the_original_and_ignores_client_names(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, pdf_bytes(2), "quarterly report.pdf")
    response = await api.http.get(f"/v1/assets/{asset['id']}/render?format=webp&page=2&w=300&download=true", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="quarterly_report-altered.webp"'
    sneaky = await api.http.get(f"/v1/assets/{asset['id']}/render?format=webp&download=true&filename=evil.exe", headers=headers)
    _error(sneaky, 400, "render_param_unknown")


async def test_bad_parameters_get_400_naming_the_valid_values(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    path = f"/v1/assets/{asset['id']}/render"
    error = _error(await api.http.get(f"{path}?fit=stretch", headers=headers), 400, "render_param_invalid")
    assert error["param"] == "fit" and "cover, contain, fill, inside, outside" in error["message"]
    _error(await api.http.get(f"{path}?w=1&w=2", headers=headers), 400, "render_param_repeated")
    _error(await api.http.get(f"{path}?w=9000", headers=headers), 400, "render_param_invalid")
    _error(await api.http.get(f"{path}?page=2", headers=headers), 400, "render_param_invalid")


async def test_a_busy_pool_answers_503_with_retry_after(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    pool = api.engine.render.pool
    pool.admitted = pool.capacity
    try:
        response = await api.http.get(f"/v1/assets/{asset['id']}/render?w=33", headers=headers)
    finally:
        pool.admitted = 0
    _error(response, 503, "render_busy")
    assert int(response.headers["retry-after"]) >= 1


async def test_the_asset_json_thumbnail_is_a_signed_render_url(api: ApiClient) -> None:
    asset = await _upload(api, await api.account(), image_bytes(1200, 900), "photo.jpg")
    thumbnail = urlsplit(asset["urls"]["thumbnail"])
    assert thumbnail.path == f"/v1/assets/{asset['id']}/render" and "sig=" in thumbnail.query
    runs = api.engine.render.pool.runs
    response = await api.http.get(asset["urls"]["thumbnail"].removeprefix(BASE))
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    assert api.engine.render.pool.runs == runs, "made at ingest: a cache hit"
    assert (await api.http.get(f"/v1/assets/{asset['id']}/thumbnail")).status_code == 404


async def test_a_deleted_asset_stops_rendering_at_once(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    url = api.engine.render.signed_url(asset["id"], RenderParams(w=40, format="png")).removeprefix(BASE)
    assert (await api.http.get(url)).status_code == 200
    assert (await api.http.get(url)).status_code == 200  # now remembered in memory as a hit
    assert (await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)).status_code == 200
    _error(await api.http.get(url), 404, "asset_not_found")


async def test_ranges_of_a_render_are_served(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    path = f"/v1/assets/{asset['id']}/render?w=100&format=png"
    whole = await api.http.get(path, headers=headers)
    part = await api.http.get(path, headers=headers | {"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.content == whole.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert part.headers["content-range"] == f"bytes 0-7/{len(whole.content)}"


async def test_twenty_concurrent_identical_requests_render_once_over_http(api: ApiClient) -> None:
    import asyncio

    asset = await _upload(api, await api.account(), image_bytes(1600, 1200), "photo.jpg")
    url = api.engine.render.signed_url(asset["id"], RenderParams(w=500, h=500, format="webp")).removeprefix(BASE)
    runs = api.engine.render.pool.runs
    answers = await asyncio.gather(*(api.http.get(url) for _ in range(20)))
    assert [r.status_code for r in answers] == [200] * 20 and len({r.content for r in answers}) == 1
    assert api.engine.render.pool.runs == runs + 1


async def test_every_render_answer_is_accounted_as_bandwidth(api: ApiClient) -> None:
    headers = await api.account()
    asset = await _upload(api, headers, image_bytes(300, 200), "photo.jpg")
    path = f"/v1/assets/{asset['id']}/render?w=300&format=png"
    sizes = [len((await api.http.get(path, headers=headers)).content) for _ in range(3)]
    await api.engine.render.settle()
    usage = (await api.http.get("/v1/usage", headers=headers)).json()
    assert sum(sizes) > 30_000  # the answer rounds to six decimals of a GB
    assert usage["breakdown"]["bandwidth_gb"] == pytest.approx(sum(sizes) / 1e9, abs=1.5e-6)
