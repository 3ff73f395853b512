"""A cold render waiting for a render slot is not done once its client has gone away."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from engine.render.settings import RenderSettings
from tests.conftest import app_client
from tests.factories import image_bytes, make_settings


async def test_a_render_whose_client_left_while_it_waited_is_skipped(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(update={"render": RenderSettings(workers=1)})
    async with app_client(settings) as api:
        headers = await api.account()
        made = await api.http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(64, 48, "png"))})
        asset_id = made.json()["id"]
        pool = api.engine.render.pool
        hold = threading.Event()
        busy = asyncio.create_task(pool.run(lambda: hold.wait(30)))  # the only worker is taken
        await asyncio.sleep(0.05)
        runs = pool.runs
        gone = asyncio.Event()
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if not sent:
                sent.append({"type": "http.request"})
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        path = f"/v1/assets/{asset_id}/render"
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": path, "raw_path": path.encode(), "query_string": b"w=33&format=png", "root_path": "",
                 "headers": [(b"authorization", headers["Authorization"].encode()), (b"host", b"testserver")],
                 "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {}, "app": None}
        app = api.http._transport.app  # type: ignore[attr-defined]
        scope["app"] = app
        request = asyncio.create_task(app(scope, receive, send))
        await asyncio.sleep(0.2)
        assert not request.done() and pool.admitted == 2, "the render waits for the busy worker"
        gone.set()  # the client hangs up
        await asyncio.wait_for(request, 10)
        assert pool.admitted == 1 and pool.runs == runs, "it never reached libvips"
        hold.set()
        await busy

        answer = await api.http.get(path, headers=headers, params={"w": 33, "format": "png"})
        assert answer.status_code == 200 and pool.runs == runs + 1  # asked again, it is rendered
