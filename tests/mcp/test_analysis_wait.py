"""An agent can wait for the analyses: ``wait_s`` with progress, an ``analysis`` block saying what ran and
what was skipped, and resource-updated notifications in both protocol eras."""

from __future__ import annotations

import base64
import warnings
from typing import Any

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import ServerNotification

from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes
from tests.mcp.conftest import ok

TAGGED = {"auto_tag": True}  # colours, faces, CLIP (no weights here: skipped) and the index row


def picture(width: int = 120, height: int = 90) -> str:
    return base64.b64encode(image_bytes(width, height)).decode()


async def test_upload_waits_for_its_analyses_with_progress(server: PicshaServer) -> None:
    stages: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        stages.append((done, total, message))

    async with Client(server) as client:
        waited = ok(await client.call_tool(
            "upload_asset", {"base64": picture(), "filename": "a.jpg", "config": TAGGED, "wait_s": 60},
            progress_callback=on_progress,
        ))
        at_once = ok(await client.call_tool("upload_asset", {"base64": picture(64, 48), "filename": "b.jpg",
                                                              "config": TAGGED}))
        too_long = await client.call_tool("upload_asset", {"base64": picture(), "filename": "c.jpg", "wait_s": 61})
    assert waited["status"] == "ready" and waited["job_id"]
    assert {"colors", "faces"} <= set(waited["analysis"]["done"]) and not waited["analysis"]["pending"]
    assert waited["analysis"]["skipped"]["index"] == "vectorize is off"  # the row is written, without vectors
    assert waited["analysis"]["skipped"]["clip"] == "no CLIP weights"
    assert waited["analysis"]["skipped"]["ocr"] == "off (config.ocr)"
    assert waited["ai"]["colors"] and "analysis" not in waited["ai"]
    messages = [message for _, _, message in stages]
    # the stored file, then the analysis job as the watch saw it (stages that end between two reads coalesce)
    assert messages[:2] == ["storing", "stored"] and len(messages) >= 3, messages
    assert any(m and (m.startswith("running ") or m.endswith(" done") or m == "ready") for m in messages[2:]), messages
    assert at_once["status"] == "processing" and set(at_once["analysis"]["pending"]) >= {"colors", "index"}
    assert too_long.is_error and "60" in too_long.content[0].text  # type: ignore[union-attr]


async def _until(condition: Any, what: str) -> None:
    with anyio.fail_after(60):
        while not condition():
            await anyio.sleep(0.05)


async def test_subscribers_hear_when_an_asset_changes_in_both_eras(server: PicshaServer) -> None:
    heard: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ServerNotification) and message.method == "notifications/resources/updated":
            heard.append(str(message.params.uri))

    async with Client(server, mode="legacy", message_handler=on_message) as legacy:
        assert legacy.server_capabilities.resources and legacy.server_capabilities.resources.subscribe
        asset = ok(await legacy.call_tool("upload_asset", {"base64": picture(), "filename": "s.jpg"}))
        uri = f"picsha://assets/{asset['id']}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await legacy.subscribe_resource(uri)
        ok(await legacy.call_tool("update_asset", {"id": asset["id"], "tags": ["seen"]}))
        await _until(lambda: uri in heard, "the legacy notification")

    async with Client(server) as modern:
        assert modern.server_capabilities.resources and modern.server_capabilities.resources.subscribe
        other = ok(await modern.call_tool("upload_asset", {"base64": picture(70, 50), "filename": "m.jpg"}))
        other_uri = f"picsha://assets/{other['id']}"
        events: list[str] = []
        async with modern.listen(resource_subscriptions=[other_uri]) as subscription:
            assert subscription.honored.resource_subscriptions == [other_uri]

            async def changed() -> None:
                ok(await modern.call_tool("update_asset", {"id": other["id"], "description": "now described"}))

            async with anyio.create_task_group() as group:
                group.start_soon(changed)
                with anyio.fail_after(60):
                    async for event in subscription:
                        events.append(event.uri)
                        break
    assert events == [other_uri]
