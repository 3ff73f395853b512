"""POST /v1/assets from every source, the metadata it extracts, and every bad input with its code."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.settings import Settings
from tests.conftest import ApiClient, app_client
from tests.factories import SVG, docx_bytes, image_bytes, jpeg_with_exif, make_settings, pdf_bytes


async def upload(api: ApiClient, headers: dict[str, str], data: bytes, name: str = "f.jpg", **fields: str):
    return await api.http.post("/v1/assets", headers=headers, files={"file": (name, data, "application/x-anything")}, data=fields)


def assert_error(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def data_files(settings: Settings) -> dict[str, list[Path]]:
    blobs = settings.data_dir / "blobs"
    originals = [p for p in (blobs / "originals").rglob("*") if p.is_file()] if (blobs / "originals").exists() else []
    staged = [p for p in settings.tmp_dir.rglob("*") if p.is_file()]
    return {"originals": originals, "tmp": staged}


async def test_multipart_with_all_fields(api: ApiClient) -> None:
    headers = await api.account()
    response = await upload(
        api, headers, image_bytes(800, 600, "png"), "holiday.png",
        tags='["sea", "sun"]', metadata='{"project_id": "p1"}', description="A beach", alt_text="Sand",
        is_public="true", config='{"auto_tag": false}',
    )
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["id"].startswith("as_")
    assert asset["status"] == "ready" and asset["type"] == "image" and asset["filename"] == "holiday.png"
    assert asset["meta"] | {"exif": {}} == {
        "format": "png", "content_type": "image/png", "size": asset["meta"]["size"], "width": 800, "height": 600,
        "pages": None, "sha256": asset["meta"]["sha256"], "exif": {},
    }
    assert asset["tags"] == ["sea", "sun"] and asset["metadata"] == {"project_id": "p1"}
    assert asset["description"] == "A beach" and asset["alt_text"] == "Sand" and asset["is_public"] is True
    assert asset["urls"]["original"].startswith("http://testserver/v1/assets/")
    assert asset["cost"].startswith("$")


async def test_type_comes_from_bytes_not_from_the_client(api: ApiClient) -> None:
    headers = await api.account()
    response = await api.http.post(
        "/v1/assets", headers=headers, files={"file": ("photo.jpg", image_bytes(64, 64, "png"), "image/jpeg")}
    )
    assert response.json()["meta"]["format"] == "png"


async def test_exif_and_gps_become_meta_and_location(api: ApiClient) -> None:
    headers = await api.account()
    response = await upload(api, headers, jpeg_with_exif(lat=42.3736, lon=-71.1097, orientation=6), "harvard.jpg")
    asset = response.json()
    assert asset["meta"]["exif"] == {
        "camera": "Canon EOS R5", "make": "Canon", "model": "Canon EOS R5", "author": "Ada Lovelace",
        "created": "2025-11-19T14:02:11", "orientation": 6,
    }
    location = asset["location"]
    assert location["lat"] == pytest.approx(42.3736, abs=1e-4) and location["lon"] == pytest.approx(-71.1097, abs=1e-4)
    assert location["label"] == "Cambridge, Massachusetts, US"


async def test_location_lookup_can_be_turned_off(api: ApiClient) -> None:
    headers = await api.account()
    response = await upload(
        api, headers, jpeg_with_exif(lat=48.8584, lon=2.2945), "paris.jpg", config='{"location_lookup": false}'
    )
    assert response.json()["location"]["label"] is None


async def test_thumbnail_is_a_small_webp(api: ApiClient) -> None:
    headers = await api.account()
    asset = (await upload(api, headers, image_bytes(1200, 900), "big.jpg")).json()
    thumb = await api.http.get(asset["urls"]["thumbnail"].removeprefix("http://testserver"))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert thumb.content[:4] == b"RIFF" and thumb.content[8:12] == b"WEBP"


async def test_documents(api: ApiClient) -> None:
    headers = await api.account()
    pdf = (await upload(api, headers, pdf_bytes(3), "report.pdf")).json()
    assert pdf["type"] == "document" and pdf["meta"]["format"] == "pdf" and pdf["meta"]["pages"] == 3
    assert pdf["meta"]["exif"]["author"] == "Graphx"
    word = (await upload(api, headers, docx_bytes(), "quarterly_report.docx")).json()
    assert word["meta"]["format"] == "docx" and word["meta"]["exif"]["author"] == "Graphx"
    svg = (await upload(api, headers, SVG, "logo.svg")).json()
    assert svg["meta"]["format"] == "svg" and svg["meta"]["width"] == 120
    text = (await upload(api, headers, b"# Title\nbody", "notes.md")).json()
    assert text["type"] == "text" and text["meta"]["format"] == "md"


async def test_json_base64_and_data_uri(api: ApiClient) -> None:
    headers = await api.account()
    payload = base64.b64encode(image_bytes(50, 40, "png")).decode()
    for body in (payload, f"data:image/png;base64,{payload}"):
        response = await api.http.post(
            "/v1/assets", headers=headers, json={"base64": body, "filename": "b.png", "tags": ["x"]}
        )
        assert response.status_code == 201, response.text
        assert response.json()["meta"]["width"] == 50 and response.json()["tags"] == ["x"]


async def test_raw_body_with_filename_header(api: ApiClient) -> None:
    headers = await api.account() | {"Content-Type": "application/octet-stream", "X-Filename": "raw%20shot.webp"}
    response = await api.http.post("/v1/assets?tags=a,b", headers=headers, content=image_bytes(30, 20, "webp"))
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "raw shot.webp" and response.json()["tags"] == ["a", "b"]


async def test_same_bytes_twice_give_two_assets_and_one_blob(api: ApiClient, settings: Settings) -> None:
    headers = await api.account()
    data = image_bytes(100, 100)
    first = (await upload(api, headers, data)).json()
    second = (await upload(api, headers, data)).json()
    assert first["id"] != second["id"] and first["meta"]["sha256"] == second["meta"]["sha256"]
    assert len(data_files(settings)["originals"]) == 1
    await api.http.delete(f"/v1/assets/{first['id']}?purge=true", headers=headers)
    assert len(data_files(settings)["originals"]) == 1, "the blob stays while another asset uses it"
    content = await api.http.get(f"/v1/assets/{second['id']}/content", headers=headers)
    assert content.content == data
    await api.http.delete(f"/v1/assets/{second['id']}?purge=true", headers=headers)
    assert data_files(settings)["originals"] == []


# -- bad input: a clear 4xx with a code, and nothing half-written ------------------------------------


async def test_missing_file(api: ApiClient) -> None:
    headers = await api.account()
    assert_error(await api.http.post("/v1/assets", headers=headers, data={"tags": "x"}, files={"other": ("a", b"x")}), 400, "asset_file_required")
    assert_error(await api.http.post("/v1/assets", headers=headers, json={"tags": []}), 400, "asset_file_required")
    assert_error(await api.http.post("/v1/assets", headers=headers), 400, "asset_file_required")


async def test_one_file_per_request(api: ApiClient) -> None:
    headers = await api.account()
    files = [("file", ("a.png", image_bytes(5, 5, "png"))), ("file", ("b.png", image_bytes(6, 5, "png")))]
    assert_error(await api.http.post("/v1/assets", headers=headers, files=files), 400, "invalid_request")


async def test_empty_file(api: ApiClient, settings: Settings) -> None:
    headers = await api.account()
    assert_error(await upload(api, headers, b""), 400, "asset_file_empty")
    assert data_files(settings)["tmp"] == []


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def with_ingest_limits(tmp_path: Path, **limits: int) -> Settings:
    settings = make_settings(tmp_path)
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=limits)})


async def test_file_too_large(tmp_path: Path) -> None:
    settings = with_ingest_limits(tmp_path, max_bytes=10_000)
    async with app_client(settings) as api:
        http = api.http
        headers = await api.account()
        error = assert_error(await upload(api, headers, image_bytes(400, 400, "png")), 413, "asset_file_too_large")
        assert error["max_bytes"] == 10_000
        raw = await http.post(
            "/v1/assets", headers=headers | {"Content-Type": "application/octet-stream"}, content=b"x" * 20_000
        )
        assert_error(raw, 413, "asset_file_too_large")
        chunked = await http.post(  # no Content-Length: the limit is enforced while streaming
            "/v1/assets", headers=headers | {"Content-Type": "multipart/form-data; boundary=xyz"},
            content=_chunks([b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n']
                            + [b"x" * 4096] * 5 + [b"\r\n--xyz--\r\n"]),
        )
        assert_error(chunked, 413, "asset_file_too_large")
        listed = await http.get("/v1/assets", headers=headers)
        assert listed.json()["total"] == 0
    assert data_files(settings) == {"originals": [], "tmp": []}


async def test_type_not_allowed(api: ApiClient, settings: Settings) -> None:
    headers = await api.account()
    error = assert_error(await upload(api, headers, b"\x7fELF\x02\x01" + b"\x00" * 100, "cat.jpg"), 415, "asset_content_type_not_allowed")
    assert "jpeg" in error["message"] and "pdf" in error["allowed"]
    assert data_files(settings) == {"originals": [], "tmp": []}


async def test_too_many_pixels_is_refused_from_the_header(tmp_path: Path) -> None:
    """A 20000x20000 PNG of zeros is tiny on disk; it must be refused before any decoding."""
    import pyvips

    bomb = pyvips.Image.black(20000, 20000).cast("uchar").pngsave_buffer(compression=9)
    async with app_client(with_ingest_limits(tmp_path, max_pixels=50_000_000)) as api:
        error = assert_error(await upload(api, await api.account(), bomb, "bomb.png"), 400, "asset_image_too_many_pixels")
        assert error["width"] == 20000 and error["max_pixels"] == 50_000_000


async def test_corrupt_image(api: ApiClient) -> None:
    headers = await api.account()
    assert_error(await upload(api, headers, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), 400, "asset_file_corrupt")


@pytest.mark.parametrize(("field", "code"), [("description", "asset_description_too_long"), ("alt_text", "asset_alt_text_too_long")])
async def test_text_fields_over_1000_characters(api: ApiClient, field: str, code: str) -> None:
    headers = await api.account()
    error = assert_error(await upload(api, headers, image_bytes(10, 10), **{field: "x" * 1001}), 400, code)
    assert "1000" in error["message"]
    assert (await upload(api, headers, image_bytes(10, 10), **{field: "x" * 1000})).status_code == 201


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"config": "{not json"}, "invalid_request"), ({"config": '{"auto_teg": true}'}, "invalid_request"),
     ({"metadata": "[1"}, "invalid_request"), ({"is_public": "maybe"}, "invalid_request")],
)
async def test_bad_form_fields(api: ApiClient, fields: dict[str, str], code: str) -> None:
    headers = await api.account()
    assert_error(await upload(api, headers, image_bytes(10, 10), **fields), 400, code)


async def test_bad_json_bodies(api: ApiClient) -> None:
    headers = await api.account()
    assert_error(await api.http.post("/v1/assets", headers=headers, json={"base64": "!!!notbase64", "filename": "a.png"}), 400, "asset_base64_invalid")
    assert_error(await api.http.post("/v1/assets", headers=headers, json={"url": "http://x/a", "base64": "AAAA"}), 400, "asset_file_required")
    assert_error(await api.http.post("/v1/assets", headers=headers, json={"url": "ftp://example.com/a.png"}), 400, "url_scheme_not_allowed")
    bad = await api.http.post("/v1/assets", headers=headers | {"Content-Type": "application/json"}, content=b"{")
    assert_error(bad, 400, "invalid_request")
    extra = await api.http.post("/v1/assets", headers=headers, json={"base64": "AAAA", "colour": "red"})
    assert "colour" in assert_error(extra, 400, "invalid_request")["message"]


async def test_same_bytes_named_and_reused_per_account(api: ApiClient) -> None:
    headers, stranger = await api.account(), await api.account("stranger")
    data = image_bytes(90, 60)
    first = (await upload(api, headers, data, "a.jpg")).json()
    kept = await upload(api, headers, data, "b.jpg")
    reused = await upload(api, headers, data, "c.jpg", on_duplicate="reuse")
    raw = await api.http.post("/v1/assets?on_duplicate=reuse", content=data,
                              headers={**headers, "X-Filename": "d.jpg", "Content-Type": "application/octet-stream"})
    theirs = await upload(api, stranger, data, "e.jpg", on_duplicate="reuse")  # another account's bytes are not shared
    bad = await upload(api, headers, data, "f.jpg", on_duplicate="skip")
    assert first["duplicate_of"] is None
    assert kept.status_code == 201 and kept.json()["duplicate_of"] == first["id"]
    assert reused.status_code == 200 and reused.json()["id"] == first["id"] and reused.json()["filename"] == "a.jpg"
    assert raw.status_code == 200 and raw.json()["id"] == first["id"]
    assert theirs.status_code == 201 and theirs.json()["duplicate_of"] is None
    error = assert_error(bad, 400, "invalid_request")
    assert "keep" in error["message"] and "reuse" in error["message"]
    assert (await api.http.get("/v1/assets", headers=headers)).json()["total"] == 2
