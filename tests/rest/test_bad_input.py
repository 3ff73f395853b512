"""Every place request text is parsed, fed hostile values: each answer is a 4xx with a code and a message,
never a 5xx, and nothing is stored."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest

from engine import Engine
from engine.auth import Principal
from engine.errors import InvalidInput
from engine.settings import Settings
from picsha_mcp.resources import AssetResources
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, make_settings
from tests.rest.test_ingest import assert_error, data_files

TUS = {"Tus-Resumable": "1.0.0"}
INTEGERS = ["²", "٣", "１", "-1", "", " ", "1e3", "0x10", "nan", "inf", "9" * 19, "9" * 5000]
JSON_TEXT = ["NaN", '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e999}', '{"a": ' + "9" * 5000 + "}", "[" * 100_000,
             "{", '{"a": 1,}']
BASE64 = ["!!!!", "abc", "a===", "é", "YQ", "====", "Y\x00Q=="]
JPEG = image_bytes(32, 32, "jpeg")


def _utf8(headers: dict[str, str]) -> dict[str, bytes]:
    """Header values as UTF-8 bytes: the client would refuse to send non-ASCII text itself."""
    return {name: value.encode() for name, value in headers.items()}


def _form(*parts: bytes, close: bool = True) -> bytes:
    body = b"".join(b"--b\r\n" + part + b"\r\n" for part in parts)
    return body + b"--b--\r\n" if close else body


def _field(name: str, value: bytes, filename: str | None = None) -> bytes:
    extra = f'; filename="{filename}"' if filename else ""
    return f'Content-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode() + value


FILE = _field("file", JPEG, "a.jpg")
MULTIPART = "multipart/form-data; boundary=b"


async def _post(api: ApiClient, content: bytes, content_type: str, **headers: str):  # noqa: ANN202
    auth = await api.account()
    return await api.http.post("/v1/assets", content=content, headers=_utf8(auth | {"Content-Type": content_type} | headers))


@pytest.mark.parametrize(("content_type", "body", "code"), [
    ("multipart/form-data", _form(FILE), "multipart_boundary_invalid"),
    ("multipart/form-data; boundary=", _form(FILE), "multipart_boundary_invalid"),
    ("multipart/form-data; boundary=" + "x" * 71, _form(FILE), "multipart_boundary_invalid"),
    ("multipart/form-data; boundary=é", _form(FILE), "multipart_boundary_invalid"),
    ("multipart/form-data; boundary=c", _form(FILE), "multipart_invalid"),
    (MULTIPART, b"--b\r\nContent Disposition form-data\r\n\r\nx\r\n--b--\r\n", "multipart_invalid"),
    (MULTIPART, b"--b\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\nx\r\n--b--\r\n", "multipart_invalid"),
    (MULTIPART, b"preamble without a boundary", "multipart_invalid"),
    (MULTIPART, _form(FILE, close=False), "multipart_truncated"),
    (MULTIPART, _form(FILE, close=False) + b"--b", "multipart_truncated"),
    (MULTIPART, _form(FILE)[:-40], "multipart_truncated"),
    (MULTIPART, b"", "multipart_truncated"),
])
async def test_malformed_or_cut_off_multipart_is_refused_and_nothing_is_stored(
    api: ApiClient, settings: Settings, content_type: str, body: bytes, code: str
) -> None:
    response = await _post(api, body, content_type)
    assert_error(response, 400, code)
    assert data_files(settings) == {"originals": [], "tmp": []}


@pytest.mark.parametrize("name", ["config", "metadata", "tags"])
@pytest.mark.parametrize("value", JSON_TEXT)
async def test_form_fields_with_hostile_json(api: ApiClient, name: str, value: str) -> None:
    if name == "tags" and not value.startswith("["):
        value = "[" + value  # tags not starting with '[' are comma-separated words
    response = await _post(api, _form(_field(name, value.encode()), FILE), MULTIPART)
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("name", ["config", "metadata"])
@pytest.mark.parametrize("value", JSON_TEXT[:5])
async def test_raw_upload_query_json(api: ApiClient, name: str, value: str) -> None:
    auth = await api.account()
    response = await api.http.post(
        "/v1/assets", params={name: value}, content=JPEG,
        headers=auth | {"Content-Type": "application/octet-stream", "X-Filename": "a.jpg"},
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("value", ["maybe", "２", "tru"])
async def test_form_booleans(api: ApiClient, value: str) -> None:
    response = await _post(api, _form(_field("wait", value.encode()), FILE), MULTIPART)
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("value", [v for v in INTEGERS if v.strip() and v.isascii() is False] + ["-1", "9" * 5000])
async def test_content_length_must_be_ascii_digits(api: ApiClient, value: str) -> None:
    response = await _post(api, JPEG, "application/octet-stream", **{"X-Filename": "a.jpg", "Content-Length": value})
    assert_error(response, 400, "content_length_invalid")


@pytest.mark.parametrize("value", BASE64)
async def test_json_ingest_with_invalid_base64(api: ApiClient, value: str) -> None:
    body = json.dumps({"base64": value, "filename": "a.jpg"}).encode()
    assert_error(await _post(api, body, "application/json"), 400, "asset_base64_invalid")


@pytest.mark.parametrize("metadata", ['{"a": NaN}', '{"a": [1, Infinity]}', '{"a": {"b": -Infinity}}'])
async def test_json_ingest_refuses_non_finite_metadata(api: ApiClient, metadata: str) -> None:
    data = base64.b64encode(JPEG).decode()
    body = f'{{"base64": "{data}", "filename": "a.jpg", "metadata": {metadata}}}'.encode()
    assert_error(await _post(api, body, "application/json"), 400, "invalid_request")


async def test_base64_with_whitespace_and_a_data_uri_still_decodes(api: ApiClient) -> None:
    encoded = base64.b64encode(JPEG).decode()
    spaced = "data:image/jpeg;base64," + "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    response = await _post(api, json.dumps({"base64": spaced, "filename": "a.jpg"}).encode(), "application/json")
    assert response.status_code == 201, response.text
    assert response.json()["meta"]["size"] == len(JPEG)


@pytest.mark.parametrize("value", JSON_TEXT + ["\udcff"])
async def test_tool_bodies_with_hostile_json(api: ApiClient, value: str) -> None:
    auth = await api.account()
    response = await api.http.post(
        "/v1/tools/list_assets", content=value.encode("utf-8", "surrogateescape"),
        headers=auth | {"Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("header", ["Upload-Length", "Upload-Offset"])
@pytest.mark.parametrize("value", INTEGERS)
async def test_tus_numbers_are_ascii_digits(api: ApiClient, header: str, value: str) -> None:
    auth = await api.account()
    if header == "Upload-Length":
        response = await api.http.post("/v1/upload/resumable", headers=_utf8(auth | TUS | {header: value}))
        assert_error(response, 400, "upload_length_invalid")
        return
    created = await api.http.post("/v1/upload/resumable", headers=auth | TUS | {"Upload-Length": "5"})
    response = await api.http.patch(
        created.headers["location"], content=b"12345",
        headers=_utf8(auth | TUS | {header: value, "Content-Type": "application/offset+octet-stream"}),
    )
    assert_error(response, 400, "upload_offset_invalid")


@pytest.mark.parametrize("value", BASE64)
async def test_tus_metadata_and_checksum_base64(api: ApiClient, value: str) -> None:
    auth = await api.account()
    meta = await api.http.post(
        "/v1/upload/resumable", headers=_utf8(auth | TUS | {"Upload-Length": "5", "Upload-Metadata": f"filename {value}"})
    )
    assert_error(meta, 400, "upload_metadata_invalid")
    created = await api.http.post("/v1/upload/resumable", headers=auth | TUS | {"Upload-Length": "5"})
    response = await api.http.patch(
        created.headers["location"], content=b"12345",
        headers=_utf8(auth | TUS | {"Upload-Offset": "0", "Upload-Checksum": f"sha1 {value}",
                                    "Content-Type": "application/offset+octet-stream"}),
    )
    assert_error(response, 400, "upload_checksum_invalid")


@pytest.mark.parametrize(("name", "value"), [
    ("w", "²"), ("w", "٣"), ("w", "9" * 5000), ("q", "٣"), ("q", "9" * 5000), ("q", "-1"), ("crop", "0,0,٣,4"),
    ("crop", "0,0,2," + "9" * 5000), ("focus", "nan,0.5"), ("focus", "٠.٥,0.5"), ("focus", "1e999,0"),
    ("dpr", "nan"), ("dpr", "inf"), ("blur", "inf"), ("rotate", "²"), ("page", "٣"), ("bg", "#٣٣٣"),
])
async def test_render_parameters(api: ApiClient, name: str, value: str) -> None:
    auth = await api.account()
    asset = (await api.http.post("/v1/assets", files={"file": ("a.jpg", JPEG)}, headers=auth)).json()
    response = await api.http.get(f"/v1/assets/{asset['id']}/render", params={name: value}, headers=auth)
    assert_error(response, 400, "render_param_invalid")


@pytest.mark.parametrize("value", ["0", "1000001", "9" * 30, "²", "-1", "nan"])
async def test_list_pages(api: ApiClient, value: str) -> None:
    auth = await api.account()
    assert_error(await api.http.get("/v1/assets", params={"page": value}, headers=auth), 400, "invalid_request")


@pytest.mark.parametrize("cursor", ["0", "²", "٣", "-1", "", "9" * 19, "9" * 5000, "1000001", "1.0"])
async def test_resource_cursors(engine: Engine, owner: Principal, cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await AssetResources(engine, owner).page(cursor)
    assert refused.value.code == "cursor_invalid"


# -- JSON body caps --------------------------------------------------------------------------------------


@pytest.fixture
async def capped_api(tmp_path) -> AsyncIterator[ApiClient]:  # noqa: ANN001
    settings = make_settings(tmp_path)
    settings.ingest.max_json_bytes = 4096
    async with app_client(settings) as api:
        yield api


def _big_json() -> bytes:
    return json.dumps({"base64": base64.b64encode(image_bytes(200, 200, "png")).decode(), "filename": "a.png"}).encode()


async def _chunked(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


@pytest.mark.parametrize("path", ["/v1/assets", "/v1/tools/upload_asset"])
@pytest.mark.parametrize("declared", [True, False])
async def test_json_bodies_over_the_cap_are_413(capped_api: ApiClient, path: str, declared: bool) -> None:
    auth = await capped_api.account()
    body = _big_json()
    content = body if declared else _chunked(body)  # without Content-Length it is counted while it streams
    response = await capped_api.http.post(path, content=content, headers=auth | {"Content-Type": "application/json"})
    error = assert_error(response, 413, "json_body_too_large")
    assert error["max_bytes"] == 4096 and "multipart" in error["message"] and "TUS" in error["message"]


async def test_mcp_bodies_over_the_cap_are_413(capped_api: ApiClient) -> None:
    auth = await capped_api.account()
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "upload_asset", "arguments": json.loads(_big_json())}}
    response = await capped_api.http.post(
        "/mcp", json=message, headers=auth | {"Accept": "application/json, text/event-stream"}
    )
    assert_error(response, 413, "json_body_too_large")


async def test_a_json_body_under_the_cap_still_works(capped_api: ApiClient) -> None:
    auth = await capped_api.account()
    body = json.dumps({"base64": base64.b64encode(image_bytes(8, 8, "png")).decode(), "filename": "a.png"})
    response = await capped_api.http.post("/v1/assets", content=body, headers=auth | {"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("value", ["bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 40, "bytes=٣-٤", "bytes=²-", "bytes=0-" + "1" * 19])
async def test_a_hostile_range_header_is_ignored_not_a_crash(api: ApiClient, value: str) -> None:
    headers = await api.account()
    data = image_bytes(16, 16, "png")
    asset = (await api.http.post("/v1/assets", headers=headers, files={"file": ("r.png", data)})).json()
    got = await api.http.get(f"/v1/assets/{asset['id']}/content", headers={**headers, "Range": value.encode()})
    assert got.status_code == 200 and got.content == data  # an unreadable range means the whole body (RFC 9110)
