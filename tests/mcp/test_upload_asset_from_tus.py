"""The MCP ``upload_asset`` tool with ``upload_id``: the asset a finished resumable (TUS) upload became."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2

from mcp import Client

from engine import Engine
from engine.auth import Principal
from engine.uploads.models import UploadCreate
from picsha_mcp.server import PicshaServer, as_owner, build_server
from tests.conftest import LiveServer
from tests.factories import image_bytes
from tests.mcp.conftest import error_of, ok
from tools_manifest.calls import Transport


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


async def test_create_upload_gives_a_command_that_sends_the_file_without_a_key(live_server: LiveServer, tmp_path: Path) -> None:
    photo = tmp_path / "big scan.png"
    photo.write_bytes(image_bytes(300, 200, "png"))
    async with Engine.open(live_server.settings, run_jobs=False) as engine:  # the server's catalog and keys
        # a remote client: its key names the owner (as_owner stands in for the HTTP request's key here)
        server = build_server(engine, transport=Transport.HTTP, authenticate=as_owner)
        async with Client(server) as client:
            ticket = ok(await client.call_tool("create_upload", {"filename": photo.name, "size": photo.stat().st_size}))
            sent = await asyncio.to_thread(
                subprocess.run, ["bash", "-c", ticket["command"]], cwd=tmp_path, capture_output=True, text=True, timeout=60)
            asset = ok(await client.call_tool("upload_asset", {"upload_id": ticket["upload_id"]}))
        assert sent.returncode == 0, sent.stderr
        assert asset["filename"] == "big scan.png" and asset["meta"]["width"] == 300
        forged = ticket["url"].replace(ticket["upload_id"], "up_someoneelse")
        async with httpx2.AsyncClient() as http:
            refused = await http.head(forged, headers={"Tus-Resumable": "1.0.0"})
            keyless = await http.head(ticket["url"].split("?")[0], headers={"Tus-Resumable": "1.0.0"})
        assert refused.status_code == 403 and keyless.status_code == 401
    local = build_server(engine, transport=Transport.STDIO)
    async with Client(local) as client:
        refusal = error_of(await client.call_tool("create_upload", {"filename": "a.png", "size": 10}))
    assert refusal["code"] == "create_upload_local" and "path" in refusal["message"]
