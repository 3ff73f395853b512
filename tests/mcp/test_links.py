"""Signed links over stdio: ``picsha mcp`` serves them itself, or points them at a running ``picsha serve``.

Real processes and sockets: the official MCP client starts ``picsha mcp``, httpx2 opens the links.
"""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import LATEST_PROTOCOL_VERSION

from engine import Engine, Settings
from picsha_mcp.link_listener import LinkListener, serving_picsha
from tests.conftest import LiveServer, free_port
from tests.factories import image_bytes
from tests.mcp.conftest import ok
from tests.mcp.test_transports import PICSHA
from tests.processes import picsha_env, picsha_server

pytestmark = pytest.mark.slow


def stdio(env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=PICSHA, args=["mcp"], env=env)


def nobody_listening() -> str:
    return f"http://127.0.0.1:{free_port()}"


async def upload(client: Client, data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
    return ok(await client.call_tool("upload_asset", {"base64": base64.b64encode(data).decode(), "filename": name}))


async def test_links_open_while_only_picsha_mcp_runs(tmp_path: Path) -> None:
    sent = image_bytes(300, 200)
    public_url = nobody_listening()
    async with Client(stdio(picsha_env(tmp_path / "data", PICSHA_PUBLIC_URL=public_url))) as client:
        uploaded = await upload(client, sent)
        asset = ok(await client.call_tool("get_asset", {"id": uploaded["id"]}))
        render = ok(await client.call_tool("render_asset", {"id": uploaded["id"], "w": 120, "format": "png"}))
        usage = ok(await client.call_tool("get_usage", {}))
        read = (await client.read_resource(f"picsha://assets/{uploaded['id']}/original")).contents[0]
        async with httpx2.AsyncClient(timeout=30) as http:
            original = await http.get(asset["urls"]["original"])
            rendered = await http.get(render["url"])
            thumbnail = await http.get(asset["urls"]["thumbnail"])
            base = render["url"].split("/v1/")[0]
            unsigned = await http.get(f"{base}/v1/assets/{uploaded['id']}/content")
            altered = await http.get(render["url"].replace("w=120", "w=121"))
            other_route = await http.get(f"{base}/v1/assets?kid=k&sig=s")

    assert base.startswith("http://127.0.0.1:") and base != public_url
    assert asset["urls"]["original"].startswith(base) and uploaded["urls"]["original"].startswith(base)
    assert uploaded["links"] == asset["links"] == render["links"] == "this_session"
    assert "links" not in usage  # no link, no note
    assert original.status_code == 200 and original.content == sent
    assert original.headers["content-type"] == "image/jpeg" and original.headers["x-content-type-options"] == "nosniff"
    assert rendered.status_code == 200 and rendered.headers["content-type"] == "image/png"
    assert rendered.content.startswith(b"\x89PNG") and len(rendered.content) == render["size"]
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    assert read.mime_type == "image/jpeg" and base64.b64decode(read.blob) == sent  # type: ignore[union-attr]
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "signature_required"
    assert altered.status_code == 403 and altered.json()["error"]["code"] == "signature_invalid"
    assert other_route.status_code == 404  # only the routes signed links name
    with pytest.raises(httpx2.ConnectError):  # "this_session": the listener ended with the session
        httpx2.get(render["url"], timeout=10)


async def test_links_point_at_a_running_picsha_serve(tmp_path: Path) -> None:
    sent = image_bytes(200, 150)
    env = picsha_env(tmp_path / "data")
    with picsha_server(env, tmp_path / "serve.log") as server:
        async with Client(stdio({**env, "PICSHA_PUBLIC_URL": server.url})) as client:
            asset = await upload(client, sent)
            render = ok(await client.call_tool("render_asset", {"id": asset["id"], "w": 80, "format": "webp"}))
        # the session is over; the links live on with the server
        original = httpx2.get(asset["urls"]["original"], timeout=30)
        rendered = httpx2.get(render["url"], timeout=30)
    assert asset["urls"]["original"].startswith(f"{server.url}/v1/assets/{asset['id']}/content?")
    assert render["url"].startswith(f"{server.url}/v1/assets/{asset['id']}/render?")
    assert asset["links"] == render["links"] == "this_machine"  # 127.0.0.1: the serve is loopback too
    assert original.status_code == 200 and original.content == sent
    assert rendered.status_code == 200 and rendered.headers["content-type"] == "image/webp"


async def test_the_probe_tells_our_picsha_from_another(settings: Settings, tmp_path: Path) -> None:
    nowhere = nobody_listening()
    with LiveServer(settings) as ours, LiveServer(settings.model_copy(update={"data_dir": tmp_path / "other"})) as other:
        for url, expected in ((ours.url, True), (other.url, False), (nowhere, False)):
            async with Engine.open(settings.model_copy(update={"public_url": url}), run_jobs=False) as engine:
                assert await serving_picsha(engine, timeout_s=5) is expected, url


async def test_a_listener_closed_before_it_launched_leaves_nothing_open(engine: Engine) -> None:
    listener = LinkListener(engine)
    base = listener.start()  # bound at once; uvicorn would take the socket on the next loop turn
    await listener.close()
    await listener.close()  # twice is harmless
    assert listener.task is None
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{base}/v1/assets/as_1/content?kid=k&sig=s", timeout=10)


# -- stdout is the protocol ------------------------------------------------------------------------------


class RawSession:
    """``picsha mcp`` spoken to line by line, so every byte it writes to stdout is seen."""

    def __init__(self, env: dict[str, str], stderr: Path):
        self.stderr = stderr
        with stderr.open("wb") as log:  # a file: a pipe nobody reads would stall the process once full
            self.process = subprocess.Popen(
                [PICSHA, "mcp"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
            )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stdout: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line)
            self.lines.put(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:  # skip notifications (progress, logs) on the way to the answer
            answer = json.loads(self.lines.get(timeout=120))
            if answer.get("id") == self.next_id:
                assert "error" not in answer, answer
                return answer["result"]

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert not result.get("isError"), result
        return result["structuredContent"]

    def end(self) -> int:
        """Close stdin, as a client does to end the session; wait for the exit and the last of stdout."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=120)
        self.reader.join(timeout=120)
        return code


@pytest.fixture
def raw_session(tmp_path: Path) -> Iterator[RawSession]:
    session = RawSession(picsha_env(tmp_path / "data", PICSHA_PUBLIC_URL=nobody_listening()), tmp_path / "stderr.log")
    try:
        yield session
    finally:
        if session.process.poll() is None:
            session.process.kill()
            session.process.wait()


def test_stdout_carries_only_json_rpc(raw_session: RawSession) -> None:
    raw_session.request("initialize", {
        "protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"},
    })
    raw_session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    data = base64.b64encode(image_bytes(64, 48)).decode()
    asset = raw_session.call("upload_asset", {"base64": data, "filename": "raw.jpg"})
    render = raw_session.call("render_asset", {"id": asset["id"], "w": 32})
    # the listener starts, serves, refuses and 404s: none of it may reach stdout
    assert httpx2.get(render["url"], timeout=30).status_code == 200
    assert httpx2.get(asset["urls"]["original"], timeout=30).status_code == 200
    assert httpx2.get(render["url"].split("?")[0], timeout=30).status_code == 403
    assert httpx2.get(render["url"].replace("/render", "/nothing"), timeout=30).status_code == 404

    assert raw_session.end() == 0, raw_session.stderr.read_text(errors="replace")[-3000:]
    assert raw_session.stdout, "no answers at all"
    for line in raw_session.stdout:
        assert json.loads(line)["jsonrpc"] == "2.0", line
