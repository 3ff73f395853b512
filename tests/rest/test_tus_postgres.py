"""TUS over the REST app with the catalog on PostgreSQL: leases, offsets and expiry in real SQL there too."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from engine.catalog.database import now
from engine.settings import CatalogSettings
from tests.conftest import app_client
from tests.factories import image_bytes, make_settings

URL = "/v1/upload/resumable"
TUS = {"Tus-Resumable": "1.0.0"}
OCTET = {"Content-Type": "application/offset+octet-stream"}


async def test_tus_flow_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, catalog=CatalogSettings(url=postgres_url))
    data = image_bytes(160, 120, "png")
    async with app_client(settings) as api:
        alice, bob = await api.account("alice"), await api.account("bob")
        created = await api.http.post(URL, headers=alice | TUS | {"Upload-Length": str(len(data))})
        assert created.status_code == 201, created.text
        url = created.headers["location"].removeprefix("http://testserver")
        upload_id = url.rsplit("/", 1)[-1]
        half = len(data) // 2
        first = await api.http.patch(url, headers=alice | TUS | OCTET | {"Upload-Offset": "0"}, content=data[:half])
        assert first.status_code == 204 and first.headers["upload-offset"] == str(half)
        assert (await api.http.head(url, headers=bob | TUS)).status_code == 404
        assert await api.engine.uploads.records.take_lease(upload_id, "other-writer", 60)
        locked = await api.http.patch(url, headers=alice | TUS | OCTET | {"Upload-Offset": str(half)}, content=data[half:])
        assert locked.status_code == 423 and locked.json()["error"]["code"] == "upload_locked"
        behind = await api.http.patch(url, headers=alice | TUS | OCTET | {"Upload-Offset": "0"}, content=data[:half])
        assert behind.status_code == 409 and behind.json()["error"]["offset"] == half
        foreign = await api.http.patch(url, headers=bob | TUS | OCTET | {"Upload-Offset": str(half)}, content=data[half:])
        assert foreign.status_code == 404
        await api.engine.uploads.records.release(upload_id, "other-writer")
        last = await api.http.patch(url, headers=alice | TUS | OCTET | {"Upload-Offset": str(half)}, content=data[half:])
        assert last.status_code == 204, last.text
        asset = (await api.http.get(f"/v1/assets/{last.headers['upload-asset-id']}", headers=alice)).json()
        assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()

        stale = await api.http.post(URL, headers=alice | TUS | {"Upload-Length": "10"})
        stale_id = stale.headers["location"].rsplit("/", 1)[-1]
        await api.engine.uploads.records.update(stale_id, expires_at=now() - timedelta(seconds=1))
        assert (await api.http.get(f"{URL}/{stale_id}", headers=alice)).status_code == 410
        assert await api.engine.uploads.sweep() == 1
        assert (await api.http.get(f"{URL}/{stale_id}", headers=alice)).status_code == 404
