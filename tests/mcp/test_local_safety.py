"""A local server's safety: ``path`` reads only inside allowed folders, confirmations are strict booleans,
and the same bytes uploaded twice are named, not silently stored again."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from mcp import Client
from mcp_types import ListRootsResult, Root

from engine import Engine
from engine.assets import ListQuery
from engine.auth import Principal
from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes
from tests.mcp.conftest import error_of, ok, upload


def roots_of(*folders: Path) -> Any:
    async def list_roots(_context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=folder.as_uri(), name=folder.name) for folder in folders])

    return list_roots


async def test_path_reads_only_inside_the_client_roots(server: PicshaServer, tmp_path: Path) -> None:
    shared, private = tmp_path / "shared", tmp_path / "private"
    (shared / ".secret").mkdir(parents=True)
    private.mkdir()
    (shared / "ok.png").write_bytes(image_bytes(40, 30, "png"))
    (shared / ".secret" / "key.png").write_bytes(image_bytes(40, 30, "png"))
    (private / "other.png").write_bytes(image_bytes(40, 30, "png"))
    (shared / "link.png").symlink_to(private / "other.png")
    async with Client(server, mode="legacy", list_roots_callback=roots_of(shared)) as client:
        stored = ok(await client.call_tool("upload_asset", {"path": str(shared / "ok.png")}))
        outside = error_of(await client.call_tool("upload_asset", {"path": str(private / "other.png")}))
        system = error_of(await client.call_tool("upload_asset", {"path": "/etc/passwd"}))
        hidden = error_of(await client.call_tool("upload_asset", {"path": str(shared / ".secret" / "key.png")}))
        linked = error_of(await client.call_tool("upload_asset", {"path": str(shared / "link.png")}))
        dotdot = error_of(await client.call_tool("upload_asset", {"path": f"{shared}/../private/other.png"}))
    assert stored["filename"] == "ok.png"
    assert outside["code"] == system["code"] == linked["code"] == dotdot["code"] == "asset_path_outside_roots"
    assert outside["allowed"] == [str(shared)] and "PICSHA_INGEST__PATH_ROOTS" in outside["message"]
    assert hidden["code"] == "asset_path_hidden"
    engine = server.engine()
    listed = await engine.assets.list(Principal(account_id=engine.owner_account_id), ListQuery(page_size=100))
    assert [asset.filename for asset in listed.items] == ["ok.png"]  # nothing refused was stored


async def test_without_roots_the_configured_folders_then_home(engine: Engine, server: PicshaServer, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(image_bytes(20, 20, "png"))
    async with Client(server) as client:  # the current protocol: no roots
        home_only = error_of(await client.call_tool("upload_asset", {"path": str(tmp_path / "a.png")}))
        engine.settings.ingest.path_roots = [tmp_path]
        allowed = ok(await client.call_tool("upload_asset", {"path": str(tmp_path / "a.png")}))
        passwd = error_of(await client.call_tool("upload_asset", {"path": "/etc/passwd"}))
    assert home_only["allowed"] == [str(Path.home().resolve())] or tmp_path.is_relative_to(Path.home())
    assert allowed["filename"] == "a.png"
    assert passwd["code"] == "asset_path_outside_roots"


async def test_confirmations_and_flags_are_strict_booleans(server: PicshaServer) -> None:
    async with Client(server) as client:
        asset = await upload(client, 32, 32)
        for loose in ("yes", "true", 1, "1"):
            refused = error_of(await client.call_tool("delete_asset", {"id": asset["id"], "confirm": loose}))
            assert refused["code"] == "invalid_request" and "confirm" in refused["message"]
            assert "boolean" in refused["message"]
        still = ok(await client.call_tool("get_asset", {"id": asset["id"]}))
        quality = error_of(await client.call_tool("render_asset", {"id": asset["id"], "q": "high"}))
        colour = error_of(await client.call_tool("render_asset", {"id": asset["id"], "bg": "blurple"}))
        public = error_of(await client.call_tool("update_asset", {"id": asset["id"], "is_public": "no"}))
        deleted = ok(await client.call_tool("delete_asset", {"id": asset["id"], "confirm": True}))
    assert still["id"] == deleted["id"] == asset["id"]
    assert "1 to 100" in quality["message"] and "auto" in quality["message"]
    assert "#rrggbb" in colour["message"] and "white" in colour["message"]
    assert "is_public" in public["message"]


async def test_the_same_bytes_twice_name_the_first_upload(server: PicshaServer) -> None:
    data = base64.b64encode(image_bytes(48, 36)).decode()
    async with Client(server) as client:
        first = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "a.jpg"}))
        kept = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "b.jpg"}))
        reused = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "c.jpg", "on_duplicate": "reuse"}))
        other = ok(await client.call_tool("upload_asset", {"base64": base64.b64encode(image_bytes(50, 36)).decode(),
                                                            "filename": "d.jpg", "on_duplicate": "reuse"}))
        bad = error_of(await client.call_tool("upload_asset", {"base64": data, "filename": "e.jpg", "on_duplicate": "skip"}))
        listed = ok(await client.call_tool("list_assets", {}))
    assert first["duplicate_of"] is None
    assert kept["id"] != first["id"] and kept["duplicate_of"] == first["id"]
    assert reused["id"] == first["id"] and reused["duplicate_of"] == first["id"] and reused["filename"] == "a.jpg"
    assert other["duplicate_of"] is None and other["id"] not in (first["id"], kept["id"])
    assert "keep" in bad["message"] and "reuse" in bad["message"]
    assert listed["total"] == 3  # a, b and d: the reused upload stored nothing
