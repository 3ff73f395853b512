"""``picsha serve --workers 2``: two server processes answer on one port, and the jobs run once, in one
``picsha worker`` beside them at lower CPU priority; all of them stop with ``picsha serve``; an idle
connection is kept open longer than uvicorn's default."""

from __future__ import annotations

import asyncio
import http.client
import signal
import time
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.factories import image_bytes
from tests.processes import picsha_env, picsha_server, run_picsha

pytestmark = pytest.mark.slow


def _server_processes(supervisor: psutil.Process, port: int) -> dict[int, bool]:
    """pid -> whether it holds an open client connection, for each child listening on ``port``."""
    found = {}
    for child in supervisor.children():
        try:
            connections = child.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
            found[child.pid] = any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in connections)
    return found


async def _answering(supervisor: psutil.Process, url: str, headers: dict[str, str], asset_id: str,
                     count: int) -> set[int]:
    """The server processes holding one of ``count`` connections opened at once, each answering a get."""
    limits = httpx2.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx2.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:
        answers = await asyncio.gather(*(http.get(f"/v1/assets/{asset_id}") for _ in range(count)))
        assert {a.status_code for a in answers} == {200}
        port = int(url.rsplit(":", 1)[1])
        return {pid for pid, busy in _server_processes(supervisor, port).items() if busy}


def test_two_server_processes_answer_and_one_worker_runs_the_jobs(tmp_path: Path) -> None:
    env = picsha_env(tmp_path / "data")  # an offline caption: a job that needs no model
    key = run_picsha(env, "keys", "create", "--name", "workers").stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    with picsha_server(env, tmp_path / "serve.log", "--workers", "2") as server:
        supervisor = psutil.Process(server.process.pid)
        port = int(server.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 90
        while len(_server_processes(supervisor, port)) < 2:  # the second may still be starting
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.2)
        runners = [c for c in supervisor.children() if "worker" in c.cmdline()]
        assert len(runners) == 1 and runners[0].nice() >= 10, [c.cmdline() for c in supervisor.children()]

        made = httpx2.post(f"{server.url}/v1/assets", headers=headers, timeout=60,
                           files={"file": ("workers.png", image_bytes(96, 64, "png"))})
        assert made.status_code == 202, made.text
        asset_id, job_id = made.json()["id"], made.json()["job_id"]

        answered: set[int] = set()
        while len(answered) < 2:  # the kernel hands each new connection to one of the two
            assert time.monotonic() < deadline, f"only {answered} answered"
            answered |= asyncio.run(_answering(supervisor, server.url, headers, asset_id, 16))
        assert len(answered) == 2

        # A connection left idle past uvicorn's own 5 s keep-alive still takes the next request.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            sockets = []
            for pause in (0, 6):
                time.sleep(pause)
                connection.request("GET", "/healthz")  # raises RemoteDisconnected if the server closed it
                assert connection.getresponse().read() == b'{"status":"ok"}'
                sockets.append(connection.sock)
            assert sockets[0] is sockets[1]  # the same connection, not a new one
        finally:
            connection.close()

        while (job := httpx2.get(f"{server.url}/v1/jobs/{job_id}", headers=headers).json())["status"] != "ready":
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.2)
        asset = httpx2.get(f"{server.url}/v1/assets/{asset_id}", headers=headers).json()
        assert asset["status"] == "ready" and asset["ai"]["caption"], asset

        children = supervisor.children(recursive=True)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(60)
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
