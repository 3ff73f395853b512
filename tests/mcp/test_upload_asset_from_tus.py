"""The MCP ``upload_asset`` tool with ``upload_id``: the asset a finished resumable (TUS) upload became."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from mcp import Client

from engine import Engine
from engine.auth import Principal
from engine.uploads.models import UploadCreate
from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes
from tests.mcp.conftest import error_of, ok


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_upload_id_of_a_finished_upload_gives_its_asset(
    engine: Engine, owner: Principal, server: PicshaServer
) -> None:
    data = image_bytes(200, 100, "png")
    upload = await engine.uploads.create(owner, UploadCreate(length=len(data), metadata={"filename": "tus.png"}))
    done = await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data))
    async with Client(server) as client:
        asset = ok(await client.call_tool("upload_asset", {"upload_id": upload.id}))
    assert asset["id"] == done.asset_id and asset["filename"] == "tus.png"
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_upload_id_refusals(engine: Engine, owner: Principal, server: PicshaServer) -> None:
    unfinished = await engine.uploads.create(owner, UploadCreate(length=100))
    stranger = Principal(account_id=await engine.keys.create_account("someone else"))
    foreign = await engine.uploads.create(stranger, UploadCreate(length=100))
    async with Client(server) as client:
        not_yet = await client.call_tool("upload_asset", {"upload_id": unfinished.id})
        hidden = await client.call_tool("upload_asset", {"upload_id": foreign.id})
        both = await client.call_tool("upload_asset", {"upload_id": unfinished.id, "url": "https://example.com/a.jpg"})
    assert error_of(not_yet)["code"] == "upload_not_finished"
    assert error_of(hidden)["code"] == "upload_not_found"
    assert error_of(both)["code"] == "asset_file_required"
