"""Resources through the official client in memory: asset JSON, capped previews and renders, paging."""

from __future__ import annotations

import base64
import io
import json

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from PIL import Image

from engine import Engine
from engine.auth import Principal
from engine.render import RenderParams
from engine.render.params import OutputFormat
from picsha_mcp import resources
from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes, pdf_bytes
from tests.mcp.conftest import ok, upload


def picture(blob: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(blob)))


async def test_templates_are_listed(server: PicshaServer) -> None:
    async with Client(server) as client:
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
    assert templates == [
        "picsha://assets/{id}", "picsha://assets/{id}/preview",
        "picsha://assets/{id}/render{?w,h,fit,gravity,format,full}", "picsha://assets/{id}/original",
    ]


async def test_asset_json_preview_and_render(server: PicshaServer) -> None:
    async with Client(server) as client:
        asset = await upload(client, 900, 300)
        read = await client.read_resource(f"picsha://assets/{asset['id']}")
        body = json.loads(read.contents[0].text)  # type: ignore[union-attr]
        assert body["id"] == asset["id"] and read.contents[0].mime_type == "application/json"

        preview = (await client.read_resource(f"picsha://assets/{asset['id']}/preview")).contents[0]
        shown = picture(preview.blob)  # type: ignore[union-attr]
        assert preview.mime_type == "image/webp" and shown.size == (900, 300)  # small images are not enlarged

        render = (await client.read_resource(f"picsha://assets/{asset['id']}/render?w=100&h=100&fit=cover")).contents[0]
        assert picture(render.blob).size == (100, 100)  # type: ignore[union-attr]


async def test_document_preview_is_its_first_page(server: PicshaServer) -> None:
    async with Client(server) as client:
        data = base64.b64encode(pdf_bytes(2)).decode()
        asset = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "report.pdf"}))
        preview = (await client.read_resource(f"picsha://assets/{asset['id']}/preview")).contents[0]
    shown = picture(preview.blob)  # type: ignore[union-attr]
    assert max(shown.size) <= 1568 and shown.size[1] > shown.size[0]  # a portrait page


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("picsha://assets/as_missing", "asset_not_found"),
        ("picsha://assets/as_missing/preview", "asset_not_found"),
        ("picsha://assets/ID/thumbs", "resource_not_found"),
        ("picsha://things/as_1", "resource_not_found"),
        ("picsha://assets/ID/render?w=0", "render_param_invalid"),
        ("picsha://assets/ID/render?size=big", "render_param_unknown"),
        ("picsha://assets/ID?w=1", "resource_uri_invalid"),
        ("picsha://assets/ID/original?w=1", "resource_uri_invalid"),
        ("picsha://assets/ID/render?w=10&full=yes", "resource_uri_invalid"),
        ("picsha://assets/as_missing/original", "asset_not_found"),
    ],
)
async def test_read_errors_keep_the_code(server: PicshaServer, uri: str, code: str) -> None:
    async with Client(server) as client:
        asset = await upload(client, 40, 40)
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri.replace("ID", asset["id"]))
    assert raised.value.data["code"] == code and raised.value.message.startswith(f"{code}: ")


async def test_resource_list_is_paged(server: PicshaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "PAGE_SIZE", 2)
    async with Client(server) as client:
        ids = {(await upload(client, 20 + n, 20, name=f"p{n}.jpg"))["id"] for n in range(5)}
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = await client.list_resources(cursor=cursor, cache_mode="bypass")
            seen += [str(resource.uri).removeprefix("picsha://assets/") for resource in page.resources]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        with pytest.raises(MCPError) as raised:
            await client.list_resources(cursor="zero", cache_mode="bypass")
    assert pages == 3 and sorted(seen) == sorted(ids)
    assert raised.value.data["code"] == "cursor_invalid"


async def test_another_account_sees_nothing(engine: Engine, server: PicshaServer) -> None:
    from engine.auth import Principal
    from picsha_mcp.server import build_server
    from tools_manifest.calls import Transport

    async with Client(server) as client:
        asset = await upload(client, 30, 30)
    stranger = Principal(account_id=await engine.keys.create_account("stranger"))

    async def as_stranger(_engine: Engine, _request: object) -> Principal:
        return stranger

    other = build_server(engine, transport=Transport.STDIO, authenticate=as_stranger)  # type: ignore[arg-type]
    async with Client(other) as client:
        assert (await client.list_resources(cache_mode="bypass")).resources == []
        with pytest.raises(MCPError) as raised:
            await client.read_resource(f"picsha://assets/{asset['id']}/preview")
        result = await client.call_tool("get_asset", {"id": asset["id"]})
    assert raised.value.data["code"] == "asset_not_found" and result.is_error


async def test_original_and_full_render_are_the_files_own_bytes(engine: Engine, server: PicshaServer) -> None:
    sent = image_bytes(2400, 1600)  # larger than a model preview: a preview would be shrunk and re-encoded
    async with Client(server) as client:
        asset = ok(await client.call_tool(
            "upload_asset", {"base64": base64.b64encode(sent).decode(), "filename": "big.jpg"}
        ))
        original = (await client.read_resource(f"picsha://assets/{asset['id']}/original")).contents[0]
        full = (await client.read_resource(f"picsha://assets/{asset['id']}/render?w=2000&format=png&full=1")).contents[0]
        sized = (await client.read_resource(f"picsha://assets/{asset['id']}/render?w=2000&format=png")).contents[0]
    assert original.mime_type == "image/jpeg" and base64.b64decode(original.blob) == sent  # type: ignore[union-attr]
    assert full.mime_type == "image/png" and picture(full.blob).size == (2000, 1333)  # type: ignore[union-attr]
    assert max(picture(sized.blob).size) <= 1568  # type: ignore[union-attr]
    rendered = await engine.render.render(asset["id"], RenderParams(w=2000, format=OutputFormat.PNG),
                                          principal=Principal(account_id=engine.owner_account_id), accept=None)
    assert base64.b64decode(full.blob) == await engine.render.read(rendered)  # type: ignore[union-attr]


async def test_bytes_over_the_cap_point_to_the_url(engine: Engine) -> None:
    from picsha_mcp.server import build_server
    from tools_manifest.calls import Transport

    engine.settings.mcp.resource_max_bytes = 1000
    async with Client(build_server(engine, transport=Transport.STDIO)) as client:
        asset = await upload(client, 300, 200)
        with pytest.raises(MCPError) as original:
            await client.read_resource(f"picsha://assets/{asset['id']}/original")
        with pytest.raises(MCPError) as render:
            await client.read_resource(f"picsha://assets/{asset['id']}/render?w=200&format=png&full=1")
    assert original.value.data["code"] == "resource_too_large" and original.value.data["limit"] == 1000
    assert original.value.data["url"] == asset["urls"]["original"]
    assert "PICSHA_MCP__RESOURCE_MAX_BYTES" in original.value.message and asset["urls"]["original"] in original.value.message
    assert render.value.data["code"] == "resource_too_large" and "/render?" in render.value.data["url"]
