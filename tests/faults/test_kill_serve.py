"""``picsha serve`` SIGKILLed in the middle of each kind of write, then restarted on the same data folder:
no half-written asset, no original left behind once the sweeper and the upkeep ran, uploads resume from
their offset, cut-off jobs end (``picsha doctor --json`` is the oracle)."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import httpx2
import pytest

from tests.faults.crash import (
    api_key,
    assert_recovered,
    crash_env,
    in_background,
    kill,
    noise_png,
    paced,
    wait_settled,
)
from tests.factories import image_bytes
from tests.processes import picsha_server, run_picsha

pytestmark = pytest.mark.slow

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 256 * 1024


def chunked(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def test_kill_during_a_multipart_ingest(tmp_path: Path) -> None:
    env = crash_env(tmp_path / "data", PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE="false")
    headers = api_key(env)
    data = noise_png(1200, 900)
    boundary = "faultsboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    sent = threading.Event()
    with picsha_server(env, tmp_path / "first.log") as server:
        body = paced([head, *chunked(data), tail], sent, after=4, pause_s=0.2)
        in_background(lambda: httpx2.post(f"{server.url}/v1/assets", content=body, timeout=60, headers=headers | {
            "Content-Type": f"multipart/form-data; boundary={boundary}"}))
        assert sent.wait(30)
        kill(server)
    with picsha_server(env, tmp_path / "second.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        assert wait_settled(http, headers) == []  # the cut-off body left no asset
        again = http.post("/v1/assets", headers=headers, files={"file": ("big.png", data)})
        assert again.status_code == 201 and again.json()["meta"]["sha256"] == hashlib.sha256(data).hexdigest()
        report = assert_recovered(env)
    assert report["assets"] == 1
    assert not [p for p in (tmp_path / "data" / "tmp").rglob("*") if p.is_file()], "staged bytes were removed"


def test_kill_during_a_tus_patch_then_resume(tmp_path: Path) -> None:
    env = crash_env(tmp_path / "data", PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE="false")
    headers = api_key(env)
    data = noise_png(1200, 900, seed=1)
    sent = threading.Event()
    with picsha_server(env, tmp_path / "first.log") as server:
        created = httpx2.post(f"{server.url}/v1/upload/resumable", headers=headers | TUS | {
            "Upload-Length": str(len(data)), "Upload-Metadata": "filename YmlnLnBuZw=="})
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        url = url if url.startswith("http") else server.url + url
        body = paced(chunked(data), sent, after=6, pause_s=0.2)
        in_background(lambda: httpx2.patch(url, content=body, timeout=60, headers=headers | TUS | {
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}))
        assert sent.wait(30)
        kill(server)
    with picsha_server(env, tmp_path / "second.log") as server, httpx2.Client(timeout=60) as http:
        url = server.url + url[url.index("/v1/"):]
        offset = int(http.head(url, headers=headers | TUS).headers["upload-offset"])
        assert 0 <= offset <= 6 * CHUNK
        deadline = time.monotonic() + 30
        while (patched := http.patch(url, content=data[offset:], headers=headers | TUS | {
                "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})).status_code == 423:
            assert time.monotonic() < deadline, "the dead writer's lease never lapsed"
            time.sleep(0.5)
        assert patched.status_code == 204, patched.text
        status = http.get(url, headers=headers).json()
        asset = http.get(f"{server.url}/v1/assets/{status['asset_id']}", headers=headers).json()
        report = assert_recovered(env)
    assert asset["meta"]["sha256"] == hashlib.sha256(data).hexdigest() and asset["status"] == "ready"
    assert report["assets"] == 1


def test_kill_during_analysis_jobs(tmp_path: Path) -> None:
    env = crash_env(tmp_path / "data", PICSHA_ENRICH__DEFAULTS__OCR="true")
    headers = api_key(env)
    with picsha_server(env, tmp_path / "first.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        ids, job_ids = [], []
        for n in range(4):
            made = http.post("/v1/assets", headers=headers, files={"file": (f"{n}.png", image_bytes(400 + n, 300, "png"))})
            assert made.status_code == 202, made.text
            ids.append(made.json()["id"])
            job_ids.append(made.headers["x-job-id"])
        time.sleep(0.5)  # the first jobs are running (loading the OCR models takes a while)
        kill(server)
    with picsha_server(env, tmp_path / "second.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        items = wait_settled(http, headers, timeout_s=180)
        deadline = time.monotonic() + 60
        while True:  # a job ends just after its asset does
            jobs = [http.get(f"/v1/jobs/{job_id}", headers=headers).json() for job_id in job_ids]
            if all(job["status"] in ("ready", "failed") for job in jobs) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        report = assert_recovered(env)
    assert sorted(item["id"] for item in items) == sorted(ids)
    assert {item["status"] for item in items} <= {"ready", "failed"}, items
    assert all(job["status"] in ("ready", "failed") for job in jobs), jobs
    assert report["assets"] == 4


def test_kill_during_derivative_writes(tmp_path: Path) -> None:
    env = crash_env(tmp_path / "data", PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE="false")
    headers = api_key(env)
    with picsha_server(env, tmp_path / "first.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        ids = [http.post("/v1/assets", headers=headers, files={"file": (f"{n}.png", noise_png(900, 700, seed=n))}).json()["id"]
               for n in range(3)]
        started = threading.Event()

        def render(asset_id: str, width: int) -> None:
            started.set()
            http.get(f"/v1/assets/{asset_id}/render", params={"w": width, "format": "png"}, headers=headers)

        for width in range(100, 700, 20):
            for asset_id in ids:
                in_background(lambda a=asset_id, w=width: render(a, w))
        assert started.wait(10)
        time.sleep(1.0)
        kill(server)
    with picsha_server(env, tmp_path / "second.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        report = assert_recovered(env)
        for asset_id in ids:  # every derivative renders again (from the cache or anew)
            for width in (100, 380, 680):
                got = http.get(f"/v1/assets/{asset_id}/render", params={"w": width, "format": "png"}, headers=headers)
                assert got.status_code == 200 and got.content.startswith(b"\x89PNG"), got.text[:200]
    assert report["assets"] == 3


def test_kill_during_a_batch_delete(tmp_path: Path) -> None:
    env = crash_env(tmp_path / "data", PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE="false")
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in range(40):  # pairs of identical bytes: deleting one of a pair must keep the other's original
        (folder / f"{n:02d}.png").write_bytes(image_bytes(64 + n // 2, 48, "png"))
    ingested = run_picsha(env, "ingest", str(folder), timeout=300)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    headers = api_key(env)
    with picsha_server(env, tmp_path / "first.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        items = http.get("/v1/assets", params={"page_size": 100}, headers=headers).json()["items"]
        doomed = [item["id"] for item in items if item["filename"] < "30"]
        in_background(lambda: http.post("/v1/assets/batch-delete", headers=headers, json={"ids": doomed, "purge": True}))
        time.sleep(0.15)
        kill(server)
    with picsha_server(env, tmp_path / "second.log") as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        report = assert_recovered(env)
        left = http.get("/v1/assets", params={"page_size": 100}, headers=headers).json()["items"]
        for item in left:
            got = http.get(f"/v1/assets/{item['id']}/content", headers=headers)
            assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == item["meta"]["sha256"]
    assert len(left) in (10, 40) and report["assets"] == len(left)  # one transaction: all or none went
    originals = [p for p in (tmp_path / "data" / "blobs" / "originals").rglob("*") if p.is_file()]
    assert len(originals) == len({item["meta"]["sha256"] for item in left})
