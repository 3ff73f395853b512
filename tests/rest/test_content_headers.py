"""Stored bytes never run as a page on Picsha's origin: every byte route x every type a browser executes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from engine import Settings
from engine.render import RenderParams
from picsha_mcp.rest.content_headers import SANDBOX_CSP, attachment
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, pdf_bytes

BASE = "http://testserver"

ACTIVE = {
    "svg-with-script": (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="alert(1)">'
        b'<script>alert(document.domain)</script><rect width="20" height="20" fill="red"/></svg>',
        "logo.svg",
    ),
    "html-named-jpg": (b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>", "photo.jpg"),
    "xml": (
        b'<?xml version="1.0"?><root xmlns:h="http://www.w3.org/1999/xhtml"><h:script>alert(1)</h:script></root>',
        "feed.xml",
    ),
    "pdf": (pdf_bytes(1), "report.pdf"),
}
RASTER = {
    "jpeg": (image_bytes(40, 30), "a.jpg"),
    "png": (image_bytes(40, 30, "png"), "a.png"),
    "gif": (image_bytes(40, 30, "gif"), "a.gif"),
    "webp": (image_bytes(40, 30, "webp"), "a.webp"),
}

Fetch = Callable[[ApiClient, dict[str, str], dict], Awaitable[object]]


async def _content_with_key(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    return await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers)


async def _content_signed(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    return await api.http.get(asset["urls"]["original"].removeprefix(BASE))


async def _content_public(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    await api.http.patch(f"/v1/assets/{asset['id']}", headers=headers, json={"is_public": True})
    return await api.http.get(f"/v1/assets/{asset['id']}/content")


async def _content_ranged(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    return await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers | {"Range": "bytes=0-9"})


async def _content_not_modified(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    tag = f'"{asset["meta"]["sha256"]}"'
    return await api.http.get(f"/v1/assets/{asset['id']}/content", headers=headers | {"If-None-Match": tag})


async def _render_with_key(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    return await api.http.get(f"/v1/assets/{asset['id']}/render?w=16&format=png", headers=headers)


async def _render_signed(api: ApiClient, headers: dict[str, str], asset: dict):  # noqa: ANN202
    url = api.engine.render.signed_url(asset["id"], RenderParams(w=16))
    return await api.http.get(url.removeprefix(BASE), headers={"Accept": "image/svg+xml,text/html,*/*"})


CONTENT_ROUTES = [_content_with_key, _content_signed, _content_public, _content_ranged, _content_not_modified]
ROUTES = CONTENT_ROUTES + [_render_with_key, _render_signed]


async def _put(api: ApiClient, headers: dict[str, str], data: bytes, name: str) -> dict:
    response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data, "image/jpeg")})
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.__name__.strip("_"))
@pytest.mark.parametrize("kind", list(ACTIVE))
async def test_active_content_is_sandboxed_and_downloaded(api: ApiClient, route: Fetch, kind: str) -> None:
    headers = await api.account()
    data, name = ACTIVE[kind]
    asset = await _put(api, headers, data, name)
    response = await route(api, headers, asset)
    assert response.headers["x-content-type-options"] == "nosniff"
    if route not in CONTENT_ROUTES and response.status_code == 415:  # text is not renderable: refused, as JSON
        assert response.headers["content-type"].startswith("application/json")
        return
    assert response.status_code in (200, 206, 304), response.text
    served = response.headers.get("content-type", "")
    if route in CONTENT_ROUTES:
        assert response.headers["content-security-policy"] == SANDBOX_CSP
        assert response.headers["content-disposition"].startswith("attachment;")
        assert not served.startswith("text/html")
    else:  # a render is always a raster image, shown inline
        assert served in ("image/png", "image/webp", "image/jpeg", "image/avif")
        assert "content-disposition" not in response.headers


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.__name__.strip("_"))
@pytest.mark.parametrize("kind", list(RASTER))
async def test_raster_images_are_inline_with_nosniff(api: ApiClient, route: Fetch, kind: str) -> None:
    headers = await api.account()
    data, name = RASTER[kind]
    asset = await _put(api, headers, data, name)
    response = await route(api, headers, asset)
    assert response.status_code in (200, 206, 304), response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in response.headers
    if response.status_code != 304:
        assert response.headers["content-type"].startswith("image/")


async def test_an_svg_original_keeps_its_bytes_and_type(api: ApiClient) -> None:
    """Served safely rather than rewritten: the original is what was uploaded, byte for byte."""
    headers = await api.account()
    data, name = ACTIVE["svg-with-script"]
    asset = await _put(api, headers, data, name)
    response = await _content_with_key(api, headers, asset)
    assert response.content == data and response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-disposition"] == 'attachment; filename="logo.svg"'


async def test_json_and_errors_carry_nosniff_too(api: ApiClient) -> None:
    assert (await api.http.get("/v1/assets")).headers["x-content-type-options"] == "nosniff"
    assert (await api.http.get("/healthz")).headers["x-content-type-options"] == "nosniff"


async def test_server_timing_is_said_only_when_turned_on(settings: Settings) -> None:
    """Off by default; on, every answer (a page, an error, a render) says the app's own time in ms."""
    async with app_client(settings) as plain:
        assert "server-timing" not in (await plain.http.get("/healthz")).headers
    async with app_client(settings.model_copy(update={"server_timing": True})) as timed:
        owner = await timed.account("timed")
        made = await timed.http.post("/v1/assets", headers=owner, files={"file": ("a.png", image_bytes(64, 48, "png"))})
        answers = [
            await timed.http.get("/v1/assets", headers=owner),
            await timed.http.get("/v1/assets/as_missing", headers=owner),
            await timed.http.get(f"/v1/assets/{made.json()['id']}/render", params={"w": 20}, headers=owner),
        ]
        assert [answer.status_code for answer in answers] == [200, 404, 200]
        for answer in answers:
            name, _, duration = answer.headers["server-timing"].partition(";dur=")
            assert name == "app" and float(duration) >= 0


def test_attachment_names_cannot_break_the_header() -> None:
    assert attachment("a.pdf") == 'attachment; filename="a.pdf"'
    tricky = attachment('x".html\r\nSet-Cookie: a=b; é.pdf')
    assert "\r" not in tricky and "\n" not in tricky and tricky.count('"') == 2
    assert tricky.endswith("filename*=UTF-8''x%22.html%0D%0ASet-Cookie%3A%20a%3Db%3B%20%C3%A9.pdf")
