"""Helpers of the fault suite: ``picsha serve`` SIGKILLed mid-work on a SQLite data folder, restarted, and
checked with ``picsha doctor --json`` as the oracle."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pyvips

from tests.processes import Server, picsha_env, run_picsha

# Sweeps and upkeep every half second, short leases and ingest holds: what a crash leaves is taken up fast.
FAST_RECOVERY = {
    "PICSHA_JOBS__UPKEEP_INTERVAL_S": "0.5", "PICSHA_UPLOADS__SWEEP_INTERVAL_S": "0.5",
    "PICSHA_JOBS__LEASE_S": "2", "PICSHA_UPLOADS__LEASE_S": "2", "PICSHA_INGEST__BLOB_GRACE_S": "2",
}
# Findings that mean a crash left a half-written asset or lost track of bytes: never acceptable.
HALF_WRITTEN = {"missing_original", "missing_derivative", "orphan_original", "unbacked_blob_row", "stuck_asset"}


def crash_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return picsha_env(data_dir, **FAST_RECOVERY, **extra)


def api_key(env: dict[str, str]) -> dict[str, str]:
    made = run_picsha(env, "keys", "create", "--name", "faults")
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip()}"}


def noise_png(width: int, height: int, seed: int = 0) -> bytes:
    """A PNG that does not compress: a few MB of real image."""
    noise = pyvips.Image.gaussnoise(width, height, mean=128 + seed % 50, sigma=60).cast("uchar")
    return noise.bandjoin([noise.rot180(), noise.fliphor()]).copy(interpretation="srgb").write_to_buffer(".png")


def kill(server: Server) -> None:
    server.process.kill()  # SIGKILL: no shutdown code runs
    server.process.wait(10)


def in_background(work: Callable[[], Any]) -> threading.Thread:
    """Run ``work`` in a thread whose errors (the server dying under it) are expected and ignored."""

    def guarded() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - the connection dies with the server
            pass

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    return thread


def paced(chunks: list[bytes], sent: threading.Event, after: int, pause_s: float) -> Iterator[bytes]:
    """A request body sent slowly: ``sent`` is set once ``after`` chunks went out."""
    for number, chunk in enumerate(chunks, start=1):
        yield chunk
        if number == after:
            sent.set()
        time.sleep(pause_s)


def doctor(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = run_picsha(env, "doctor", "--json", *args)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 0) == report["clean"]
    return report


def wait_settled(http: httpx2.Client, headers: dict[str, str], timeout_s: float = 90) -> list[dict[str, Any]]:
    """Every asset out of ``processing`` (the restarted server's workers took the cut-off jobs up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        items = http.get("/v1/assets", params={"page_size": 100}, headers=headers).json()["items"]
        if all(item["status"] != "processing" for item in items) or time.monotonic() > deadline:
            return items
        time.sleep(0.3)


def assert_recovered(env: dict[str, str], timeout_s: float = 60) -> dict[str, Any]:
    """Once the sweeper and the upkeep ran, the doctor finds no half-written asset and nothing to repair
    but leftover derivative files; if it found those, a repair leaves a clean second run. The last clean
    report is returned."""
    deadline = time.monotonic() + timeout_s
    while True:
        report = doctor(env)
        for found in report["findings"]:  # shown with -s, or beside a failure
            print(f"doctor: {found['kind']} {found['severity']} {found['subject']}: {found['detail']}")
        problems = {f["kind"] for f in report["findings"] if f["severity"] == "problem"}
        assert not problems & HALF_WRITTEN, report
        healing = [f for f in report["findings"] if f["severity"] == "note"]
        if not healing or time.monotonic() > deadline:  # what is left will not heal by itself
            break
        time.sleep(1)
    if not report["clean"]:
        assert doctor(env, "--repair")["clean"]
        report = doctor(env)
        assert report["clean"], report
    return report
