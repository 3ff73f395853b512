"""Picsha as several OS processes on one SQLite data folder: jobs made by one process run in another."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2
import pytest

from tests.factories import image_bytes
from tests.processes import picsha_env, picsha_process, picsha_server, run_picsha
from tests.rest.test_job_progress import read_events

pytestmark = pytest.mark.slow


def _key(env: dict[str, str]) -> dict[str, str]:
    made = run_picsha(env, "keys", "create", "--name", "test")
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip()}"}


def _wait_ready(http: httpx2.Client, asset_id: str, headers: dict[str, str], timeout_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        asset = http.get(f"/v1/assets/{asset_id}", headers=headers).json()
        if asset["status"] != "processing" or time.monotonic() > deadline:
            return asset
        time.sleep(0.2)


def test_a_cli_ingest_beside_a_running_server_is_analysed_by_the_server(tmp_path: Path) -> None:
    env = picsha_env(tmp_path / "data")
    photo = tmp_path / "photo.png"
    photo.write_bytes(image_bytes(64, 48, "png"))
    headers = _key(env)
    with picsha_server(env, tmp_path / "serve.log") as server, httpx2.Client(base_url=server.url, timeout=30) as http:
        ingested = run_picsha(env, "ingest", str(photo))
        assert ingested.returncode == 0, ingested.stdout + ingested.stderr
        asset_id = next(word for word in ingested.stdout.split() if word.startswith("as_"))
        asset = _wait_ready(http, asset_id, headers)
        keys = run_picsha(env, "keys", "list")  # a command beside the server starts no workers of its own
        log = (tmp_path / "serve.log").read_text()
    assert asset["status"] == "ready" and asset["ai"]["caption"], asset
    assert keys.returncode == 0 and "picsha-job-worker" not in keys.stderr
    assert "Traceback" not in log


def test_a_server_without_workers_and_a_worker_process_share_the_jobs(tmp_path: Path) -> None:
    env = picsha_env(tmp_path / "data", PICSHA_JOBS__IN_PROCESS="false")
    headers = _key(env)
    with picsha_server(env, tmp_path / "serve.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        created = http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(64, 48, "png"))})
        assert created.status_code == 202 and created.json()["status"] == "processing"
        job_id = created.headers["x-job-id"]
        time.sleep(1.5)  # nothing in the server runs it
        assert http.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"] == "queued"
        with picsha_process(env, "worker", "--concurrency", "2", log=tmp_path / "worker.log") as worker:
            events = read_events(http, f"/v1/jobs/{job_id}/progress", headers)  # streamed by the server
            worker.terminate()  # SIGTERM: a clean stop
            assert worker.wait(30) == 0
        asset = http.get(f"/v1/assets/{created.json()['id']}", headers=headers).json()
    assert events[-1][0] == "ready" and json.dumps(events[-1][1])
    assert asset["status"] == "ready"


class HangsOnce:
    """A webhook receiver on 127.0.0.1 that holds its first request open and answers 200 to the rest."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.first_arrived, self.release = threading.Event(), threading.Event()
        self.ids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers["content-length"]))
                receiver.ids.append(self.headers["webhook-id"])
                if len(receiver.ids) == 1:
                    receiver.first_arrived.set()
                    receiver.release.wait(60)
                    return
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


def test_a_job_cut_off_by_a_killed_server_runs_again_after_a_restart(tmp_path: Path) -> None:
    """A webhook delivery is running inside ``picsha serve`` when it is SIGKILLed; the restarted server takes
    the job up again once its lease lapsed, and the receiver gets the same delivery (same webhook-id)."""
    env = picsha_env(tmp_path / "data", PICSHA_JOBS__LEASE_S="2", PICSHA_INGEST__FETCH_ALLOW_PRIVATE="true",
                     PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE="false")
    headers = _key(env)
    receiver = HangsOnce()
    try:
        with picsha_server(env, tmp_path / "first.log") as server, \
                httpx2.Client(base_url=server.url, timeout=30) as http:
            hook = http.post("/v1/webhooks", headers=headers, json={"url": receiver.url, "events": ["asset.ready"]})
            assert hook.status_code in (200, 201), hook.text
            http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(16, 16, "png"))})
            assert receiver.first_arrived.wait(30)  # the delivery job is running inside this server
            server.process.kill()
            server.process.wait(10)
        with picsha_server(env, tmp_path / "second.log") as server, \
                httpx2.Client(base_url=server.url, timeout=30) as http:
            webhook_id = hook.json()["id"]

            def delivered() -> dict[str, object] | None:
                items = http.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=headers).json()["items"]
                return items[0] if items and items[0]["status"] == "succeeded" else None

            deadline = time.monotonic() + 60
            while (delivery := delivered()) is None and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        receiver.close()
    assert delivery is not None and delivery["attempts"] >= 2
    assert len(receiver.ids) >= 2 and len(set(receiver.ids)) == 1  # one delivery, tried again
