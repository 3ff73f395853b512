"""TUS with the S3 backend (moto's server on 127.0.0.1): chunks become multipart parts, the asset lands in S3."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import app_client
from tests.factories import make_settings
from tests.s3 import s3_settings

URL = "/v1/upload/resumable"
TUS = {"Tus-Resumable": "1.0.0"}
OCTET = {"Content-Type": "application/offset+octet-stream"}
MIB = 1024 * 1024


async def test_tus_upload_on_s3(moto_endpoint: str, tmp_path: Path) -> None:
    storage = s3_settings(moto_endpoint)
    line = b"a document that arrives in pieces and is stored in S3 parts\n"
    data = (line * (11 * MIB // len(line) + 1))[: 11 * MIB + 7]
    async with app_client(make_settings(tmp_path, storage=storage)) as api:
        auth = await api.account()
        created = await api.http.post(URL, headers=auth | TUS | {"Upload-Length": str(len(data))})
        url = created.headers["location"].removeprefix("http://testserver")
        offset = 0
        for size in (6 * MIB, 3 * MIB, len(data) - 9 * MIB):
            answer = await api.http.patch(
                url, headers=auth | TUS | OCTET | {"Upload-Offset": str(offset)}, content=data[offset : offset + size]
            )
            assert answer.status_code == 204, answer.text
            offset += size
            if offset == 6 * MIB:
                client = api.engine.store.client  # type: ignore[attr-defined]
                parts = client.list_multipart_uploads(Bucket=storage.s3_bucket).get("Uploads", [])
                assert len(parts) == 1, "the first 6 MiB went to S3 as a part"
        asset_id = answer.headers["upload-asset-id"]
        asset = (await api.http.get(f"/v1/assets/{asset_id}", headers=auth)).json()
        content = await api.http.get(f"/v1/assets/{asset_id}/content", headers=auth)
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert content.content == data
    assert not client.list_multipart_uploads(Bucket=storage.s3_bucket).get("Uploads")
