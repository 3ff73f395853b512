"""Tool calls take the same admission places as REST requests: a full class is an error result naming it,
with Retry-After's value, and an upload that may not wait for its analysis still answers."""

from __future__ import annotations

import base64

from mcp import Client

from engine import Engine
from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes
from tests.mcp.conftest import error_of, ok


async def test_full_classes_refuse_tool_calls_and_free_places_serve_them(engine: Engine, server: PicshaServer) -> None:
    data = base64.b64encode(image_bytes(40, 30)).decode()
    async with Client(server) as client:
        engine.admission.uploads.limit = 0
        refused = error_of(await client.call_tool("upload_asset", {"base64": data, "filename": "a.jpg"}))
        engine.admission.uploads.limit = 8
        engine.admission.analyses.limit = 0  # no place to wait: the stored asset answers at once
        stored = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "a.jpg", "wait_s": 30,
                                                            "config": {"auto_tag": True}}))
        engine.admission.searches.limit = 0
        busy = error_of(await client.call_tool("search_assets", {"query": "a"}))
        engine.admission.searches.limit = 16
        found = ok(await client.call_tool("search_assets", {"query": "a.jpg"}))
    assert refused["code"] == "upload_busy" and refused["retry_after"] == 1
    assert stored["status"] == "processing" and stored["analysis"]["pending"]
    assert busy["code"] == "search_busy" and busy["retry_after"] == 1
    assert [row["id"] for row in found["results"]] == [stored["id"]]
    assert engine.admission.uploads.active == engine.admission.searches.active == engine.admission.analyses.active == 0
