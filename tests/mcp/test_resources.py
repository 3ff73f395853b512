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
        "picsha://assets/{id}", "picsha://assets/{id}/preview", "picsha://assets/{id}/render{?w,h,fit,gravity,format}"
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
