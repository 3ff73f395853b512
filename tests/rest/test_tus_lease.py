"""A slow TUS client over real HTTP (uvicorn on 127.0.0.1) keeps its upload against a retried PATCH."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2

from tests.conftest import LiveServer
from tests.factories import make_key, make_settings

URL = "/v1/upload/resumable"
TUS = {"Tus-Resumable": "1.0.0"}
OCTET = {"Content-Type": "application/offset+octet-stream"}
LEASE_S = 0.6


def test_a_trickling_patch_keeps_its_lease_and_a_retry_is_locked_out(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.uploads.lease_s = LEASE_S
    auth = {"Authorization": f"Bearer {make_key(settings)}"}
    line = b"a slow client sends this upload a few bytes at a time.\n"
    pieces = [line * (n + 1) for n in range(4)]
    data = b"".join(pieces)

    async def run(server: LiveServer) -> None:
        async with httpx2.AsyncClient(base_url=server.url, timeout=30) as slow, \
                httpx2.AsyncClient(base_url=server.url, timeout=30) as other:
            created = await slow.post(URL, headers=auth | TUS | {"Upload-Length": str(len(data))})
            assert created.status_code == 201, created.text
            url = created.headers["location"].removeprefix(server.url)
            retries: list[httpx2.Response] = []

            async def trickle() -> AsyncIterator[bytes]:
                for piece in pieces:
                    yield piece
                    await asyncio.sleep(LEASE_S * 1.2)  # slower than one chunk per lease
                    retry = await other.patch(
                        url, headers=auth | TUS | OCTET | {"Upload-Offset": "0"}, content=b"x" * len(data)
                    )
                    retries.append(retry)

            answer = await slow.patch(url, headers=auth | TUS | OCTET | {"Upload-Offset": "0"}, content=trickle())
            assert answer.status_code == 204, answer.text
            assert answer.headers["upload-offset"] == str(len(data))
            assert [r.status_code for r in retries] == [423] * len(pieces)
            assert {r.json()["error"]["code"] for r in retries} == {"upload_locked"}
            asset_id = answer.headers["upload-asset-id"]
            asset = (await slow.get(f"/v1/assets/{asset_id}", headers=auth)).json()
            assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()
            content = await slow.get(f"/v1/assets/{asset_id}/content", headers=auth)
            assert content.content == data

    with LiveServer(settings) as server:
        asyncio.run(run(server))
