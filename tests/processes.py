"""Picsha as separate OS processes (``picsha serve``, ``picsha worker``, ``picsha ingest``) on shared data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.conftest import free_port

# Analyses that need no model download and little time: an offline caption, no faces/OCR/NSFW models.
CHEAP_ANALYSES = {
    "PICSHA_ENRICH__DEFAULTS__AUTO_TAG": "false", "PICSHA_ENRICH__DEFAULTS__SAFE_SEARCH": "false",
    "PICSHA_ENRICH__DEFAULTS__OCR": "false", "PICSHA_ENRICH__DEFAULTS__VECTORIZE": "false",
    "PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE": "true",
}


def picsha_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSHA_")}
    env |= {"PICSHA_DATA_DIR": str(data_dir), **CHEAP_ANALYSES, **extra}
    return env


def picsha(*args: str) -> list[str]:
    return [sys.executable, "-m", "picsha_mcp.cli", *args]


def run_picsha(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(picsha(*args), env=dict(env), capture_output=True, text=True, timeout=timeout)


@contextmanager
def picsha_process(env: Mapping[str, str], *args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(picsha(*args), env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """SIGTERM, then ``grace_s`` to finish cleanly, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    """Return once ``url``'s ``/healthz`` answers; fail with the log's tail if the process exits or is late."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited: {log.read_text()[-3000:]}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.1)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def picsha_server(env: Mapping[str, str], log: Path, *options: str) -> Iterator[Server]:
    """``picsha serve`` on a free port (with ``options``, e.g. ``--workers 2``), once ``/healthz`` answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with picsha_process({**env, "PICSHA_PUBLIC_URL": url}, "serve", "--port", str(port), *options, log=log) as process:
        wait_until_serving(url, process, log)
        yield Server(url, process)
