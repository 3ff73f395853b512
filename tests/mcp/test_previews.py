"""Images for models stay within 1568 px on the long side and 800 KB, whatever was uploaded."""

from __future__ import annotations

import base64
import io

import pytest
from mcp import Client
from mcp_types import ImageContent
from PIL import Image

from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes
from tests.mcp.conftest import ok

MAX_SIDE = 1568
MAX_BYTES = 800_000


@pytest.mark.slow
async def test_preview_of_a_6000_by_4000_upload_is_capped(server: PicshaServer) -> None:
    original = image_bytes(6000, 4000, "jpeg", Q=95)
    async with Client(server) as client:
        asset = ok(await client.call_tool(
            "upload_asset", {"base64": base64.b64encode(original).decode(), "filename": "big.jpg"}
        ))
        assert (asset["meta"]["width"], asset["meta"]["height"]) == (6000, 4000)
        preview = (await client.read_resource(f"picsha://assets/{asset['id']}/preview")).contents[0]
        render = await client.call_tool("render_asset", {"id": asset["id"], "w": 5000, "format": "png"})
    data = base64.b64decode(preview.blob)  # type: ignore[union-attr]
    shown = Image.open(io.BytesIO(data))
    assert shown.size == (MAX_SIDE, round(MAX_SIDE * 4000 / 6000)) and len(data) <= MAX_BYTES
    assert data != original and shown.format == "WEBP"

    out = ok(render)
    assert out["width"] == 5000 and out["size"] > MAX_BYTES  # the deliverable is full size, behind the URL
    image = next(block for block in render.content if isinstance(block, ImageContent))
    inline = base64.b64decode(image.data)
    assert len(inline) <= MAX_BYTES and max(Image.open(io.BytesIO(inline)).size) <= MAX_SIDE
