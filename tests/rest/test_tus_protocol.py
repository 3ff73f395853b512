"""The TUS 1.0 protocol over the in-process app: each header rule and each refusal, by hand."""

from __future__ import annotations

import base64
import hashlib

import pytest

from engine.uploads.models import UploadStatus
from tests.conftest import ApiClient
from tests.factories import image_bytes

URL = "/v1/upload/resumable"
TUS = {"Tus-Resumable": "1.0.0"}
OCTET = {"Content-Type": "application/offset+octet-stream"}


def meta(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


async def create(api: ApiClient, auth: dict[str, str], length: int, **extra: str) -> str:
    headers = auth | TUS | {"Upload-Length": str(length)} | extra
    answer = await api.http.post(URL, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.headers["location"].removeprefix("http://testserver")


async def patch(api: ApiClient, auth: dict[str, str], url: str, offset: int, body: bytes, **extra: str):  # noqa: ANN201
    headers = auth | TUS | OCTET | {"Upload-Offset": str(offset)} | extra
    return await api.http.patch(url, headers=headers, content=body)


async def test_options_lists_version_extensions_size_and_checksums(api: ApiClient) -> None:
    answer = await api.http.options(URL, headers={"Origin": "https://app.example"})
    assert answer.status_code == 204
    assert answer.headers["tus-version"] == "1.0.0"
    extensions = answer.headers["tus-extension"].split(",")
    for name in ("creation", "creation-with-upload", "expiration", "checksum", "termination", "concatenation"):
        assert name in extensions
    assert int(answer.headers["tus-max-size"]) == api.engine.settings.ingest.max_bytes
    assert set(answer.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256", "md5"}
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    assert "upload-offset" in answer.headers["access-control-allow-headers"].lower()


async def test_chunks_then_head_then_asset(api: ApiClient) -> None:
    auth = await api.account("alice")
    data = image_bytes(320, 240, "png")
    url = await create(api, auth, len(data), **{"Upload-Metadata": meta(filename="pic.png", tags="a,b")})
    head = await api.http.head(url, headers=auth | TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0" and head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["upload-metadata"] == meta(filename="pic.png", tags="a,b")
    half = len(data) // 2
    first = await patch(api, auth, url, 0, data[:half])
    assert first.status_code == 204 and first.headers["upload-offset"] == str(half)
    assert "upload-expires" in first.headers and "upload-asset-id" not in first.headers
    last = await patch(api, auth, url, half, data[half:])
    assert last.status_code == 204 and last.headers["upload-offset"] == str(len(data))
    asset_id = last.headers["upload-asset-id"]
    asset = (await api.http.get(f"/v1/assets/{asset_id}", headers=auth)).json()
    assert asset["filename"] == "pic.png" and asset["tags"] == ["a", "b"]
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()
    status = (await api.http.get(url, headers=auth)).json()
    assert status["status"] == "done" and status["asset_id"] == asset_id and status["offset"] == len(data)


async def test_creation_with_upload_and_deferred_length(api: ApiClient) -> None:
    auth = await api.account()
    data = image_bytes(64, 48, "png")
    answer = await api.http.post(
        URL, headers=auth | TUS | OCTET | {"Upload-Defer-Length": "1"}, content=data[:100]
    )
    assert answer.status_code == 201 and answer.headers["upload-offset"] == "100"
    url = answer.headers["location"].removeprefix("http://testserver")
    head = await api.http.head(url, headers=auth | TUS)
    assert head.headers["upload-defer-length"] == "1" and "upload-length" not in head.headers
    done = await patch(api, auth, url, 100, data[100:], **{"Upload-Length": str(len(data))})
    assert done.status_code == 204 and done.headers["upload-asset-id"].startswith("as_")


async def test_refusals_follow_the_protocol(api: ApiClient) -> None:
    auth = await api.account()
    url = await create(api, auth, 10)
    no_version = await api.http.head(url, headers=auth)
    assert no_version.status_code == 412 and no_version.headers["tus-version"] == "1.0.0"
    wrong_type = await api.http.patch(url, headers=auth | TUS | {"Upload-Offset": "0", "Content-Type": "text/plain"}, content=b"x")
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["code"] == "upload_content_type_invalid"
    mismatch = await patch(api, auth, url, 3, b"abc")
    assert mismatch.status_code == 409 and mismatch.json()["error"]["offset"] == 0
    past_end = await patch(api, auth, url, 0, b"x" * 11)
    assert past_end.status_code == 413
    too_big = await api.http.post(URL, headers=auth | TUS | {"Upload-Length": str(api.engine.uploads.max_bytes + 1)})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "asset_file_too_large"
    neither = await api.http.post(URL, headers=auth | TUS)
    assert neither.status_code == 400 and neither.json()["error"]["code"] == "upload_length_invalid"
    bad_meta = await api.http.post(URL, headers=auth | TUS | {"Upload-Length": "5", "Upload-Metadata": "config e30x"})
    assert bad_meta.status_code == 400 and bad_meta.json()["error"]["code"] == "upload_metadata_invalid"
    no_key = await api.http.head(url, headers=TUS)
    assert no_key.status_code == 401
    missing = await api.http.get(f"{URL}/up_doesnotexist", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "upload_not_found"


async def test_checksum_mismatch_discards_the_chunk(api: ApiClient) -> None:
    auth = await api.account()
    data = image_bytes(64, 48, "png")
    url = await create(api, auth, len(data))
    wrong = base64.b64encode(hashlib.sha1(b"something else").digest()).decode()
    refused = await patch(api, auth, url, 0, data[:50], **{"Upload-Checksum": f"sha1 {wrong}"})
    assert refused.status_code == 460 and refused.json()["error"]["code"] == "upload_checksum_mismatch"
    assert (await api.http.head(url, headers=auth | TUS)).headers["upload-offset"] == "0"
    unknown = await patch(api, auth, url, 0, data[:50], **{"Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "upload_checksum_unsupported"
    for algorithm in ("md5", "sha1", "sha256"):
        offset = int((await api.http.head(url, headers=auth | TUS)).headers["upload-offset"])
        piece = data[offset : offset + 40] if algorithm != "sha256" else data[offset:]
        digest = base64.b64encode(hashlib.new(algorithm, piece).digest()).decode()
        ok = await patch(api, auth, url, offset, piece, **{"Upload-Checksum": f"{algorithm} {digest}"})
        assert ok.status_code == 204, ok.text
    assert ok.headers["upload-asset-id"].startswith("as_")
    asset = (await api.http.get(f"/v1/assets/{ok.headers['upload-asset-id']}", headers=auth)).json()
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_termination_removes_upload_and_bytes(api: ApiClient) -> None:
    auth = await api.account()
    url = await create(api, auth, 100)
    await patch(api, auth, url, 0, b"x" * 40)
    upload_id = url.rsplit("/", 1)[-1]
    assert api.engine.uploads.spool.path(upload_id).exists()
    gone = await api.http.delete(url, headers=auth | TUS)
    assert gone.status_code == 204
    assert not api.engine.uploads.spool.path(upload_id).exists()
    assert (await api.http.head(url, headers=auth | TUS)).status_code == 404


async def test_method_override_patch_and_delete(api: ApiClient) -> None:
    auth = await api.account()
    url = await create(api, auth, 10)
    over = await api.http.post(
        url, headers=auth | TUS | OCTET | {"Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"}, content=b"12345"
    )
    assert over.status_code == 204 and over.headers["upload-offset"] == "5"
    plain = await api.http.post(url, headers=auth | TUS)
    assert plain.status_code == 405
    deleted = await api.http.post(url, headers=auth | TUS | {"X-HTTP-Method-Override": "DELETE"})
    assert deleted.status_code == 204


async def test_another_account_gets_404(api: ApiClient) -> None:
    alice, mallory = await api.account("alice"), await api.account("mallory")
    url = await create(api, alice, 10)
    assert (await api.http.head(url, headers=mallory | TUS)).status_code == 404
    assert (await patch(api, mallory, url, 0, b"12345")).status_code == 404
    assert (await api.http.get(url, headers=mallory)).status_code == 404
    assert (await api.http.delete(url, headers=mallory | TUS)).status_code == 404
    assert (await api.http.head(url, headers=alice | TUS)).headers["upload-offset"] == "0"


async def test_bad_file_ends_the_upload_with_the_ingest_error(api: ApiClient) -> None:
    auth = await api.account()
    data = b"\x00\x01\x02 not a supported file" * 10
    url = await create(api, auth, len(data))
    answer = await patch(api, auth, url, 0, data)
    assert answer.status_code == 415
    assert answer.json()["error"]["code"] == "asset_content_type_not_allowed"
    status = (await api.http.get(url, headers=auth)).json()
    assert status["status"] == UploadStatus.FAILED and status["error"]["code"] == "asset_content_type_not_allowed"
    again = await patch(api, auth, url, len(data), b"")
    assert again.status_code == 415
    head = await api.http.head(url, headers=auth | TUS)
    assert head.status_code == 415 and "upload-offset" not in head.headers


@pytest.mark.parametrize("pixels", [(400, 300)])
async def test_too_many_pixels_is_the_ingest_code(api: ApiClient, pixels: tuple[int, int]) -> None:
    api.engine.ingest.settings.max_pixels = 1000
    try:
        auth = await api.account()
        data = image_bytes(*pixels, "png")
        url = await create(api, auth, len(data))
        answer = await patch(api, auth, url, 0, data)
    finally:
        api.engine.ingest.settings.max_pixels = 200_000_000
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "asset_image_too_many_pixels"
    assert (await api.http.get(url, headers=auth)).json()["error"]["code"] == "asset_image_too_many_pixels"


async def test_concatenation_of_three_partial_uploads(api: ApiClient) -> None:
    auth = await api.account()
    data = image_bytes(200, 150, "png")
    third = len(data) // 3
    pieces = [data[:third], data[third : 2 * third], data[2 * third :]]
    urls = []
    for piece in pieces:
        url = await create(api, auth, len(piece), **{"Upload-Concat": "partial"})
        assert (await patch(api, auth, url, 0, piece)).status_code == 204
        assert (await api.http.head(url, headers=auth | TUS)).headers["upload-concat"] == "partial"
        urls.append(url)
    final = await api.http.post(
        URL, headers=auth | TUS | {"Upload-Concat": "final;" + " ".join(urls), "Upload-Metadata": meta(filename="joined.png")}
    )
    assert final.status_code == 201, final.text
    asset = (await api.http.get(f"/v1/assets/{final.headers['upload-asset-id']}", headers=auth)).json()
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest() and asset["filename"] == "joined.png"
    final_url = final.headers["location"].removeprefix("http://testserver")
    assert (await patch(api, auth, final_url, len(data), b"")).status_code == 403
    for url in urls:  # the parts are gone once joined
        assert (await api.http.head(url, headers=auth | TUS)).status_code == 404


async def test_concatenation_refuses_unfinished_or_foreign_parts(api: ApiClient) -> None:
    alice, bob = await api.account("alice"), await api.account("bob")
    unfinished = await create(api, alice, 10, **{"Upload-Concat": "partial"})
    answer = await api.http.post(URL, headers=alice | TUS | {"Upload-Concat": f"final;{unfinished}"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "upload_concat_unfinished"
    foreign = await api.http.post(URL, headers=bob | TUS | {"Upload-Concat": f"final;{unfinished}"})
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "upload_concat_invalid"


async def test_cap_on_unfinished_uploads(api: ApiClient) -> None:
    api.engine.uploads.settings.max_unfinished_per_account = 2
    try:
        auth = await api.account()
        await create(api, auth, 10)
        second = await create(api, auth, 10)
        third = await api.http.post(URL, headers=auth | TUS | {"Upload-Length": "10"})
        assert third.status_code == 429 and third.json()["error"]["code"] == "upload_limit_reached"
        await api.http.delete(second, headers=auth | TUS)
        await create(api, auth, 10)
    finally:
        api.engine.uploads.settings.max_unfinished_per_account = 50


async def test_cors_headers_on_answers_and_errors(api: ApiClient) -> None:
    auth = await api.account()
    url = await create(api, auth, 10)
    origin = {"Origin": "https://app.example"}
    head = await api.http.head(url, headers=auth | TUS | origin)
    assert head.headers["access-control-allow-origin"] == "https://app.example"
    assert "Upload-Offset" in head.headers["access-control-expose-headers"]
    error = await patch(api, auth, url, 7, b"x", **origin)
    assert error.status_code == 409 and error.headers["access-control-allow-origin"] == "https://app.example"
