"""The request path ahead of the heavy threads: a server process's threads that do not answer requests are
lowered to ``admission.compute_nice``; the event loop and the catalog readers keep their priority."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx2
import pytest

from engine.admission import priority
from tests.factories import image_bytes
from tests.processes import picsha_env, picsha_server, run_picsha

pytestmark = pytest.mark.skipif(not priority.supported(), reason="a thread's nice value is per thread on Linux only")


def _nice_by_thread_name(pid: int) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            found.setdefault(name, set()).add(os.getpriority(os.PRIO_PROCESS, int(task.name)))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def test_a_sweep_lowers_every_thread_but_the_loop_and_the_catalog_readers() -> None:
    # in a process of its own: nice values can only go up, and the test runner's threads must keep theirs
    script = textwrap.dedent("""
        import os, threading
        from engine.admission.priority import RequestPriority
        hold = threading.Event()
        threads = [threading.Thread(target=hold.wait, name=name) for name in ("catalog-read_0", "heavy", "other")]
        for thread in threads:
            thread.start()
        swept = RequestPriority(7)
        first, again = swept.sweep(), swept.sweep()
        nice = {t.name: os.getpriority(os.PRIO_PROCESS, t.native_id) for t in threads}
        nice["main"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        hold.set()
        print(first, again, sorted(nice.items()))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    first, again, nice = done.stdout.split(" ", 2)
    assert int(first) >= 2 and int(again) == 0  # heavy and other (and any interpreter threads); once only
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert eval(nice) == [("catalog-read_0", base), ("heavy", max(base, 7)), ("main", base), ("other", max(base, 7))]


@pytest.mark.slow
def test_picsha_serve_renders_on_threads_nicer_than_its_event_loop(tmp_path: Path) -> None:
    env = picsha_env(tmp_path / "data", PICSHA_ADMISSION__COMPUTE_NICE="6")
    made = run_picsha(env, "keys", "create", "--name", "test")
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with picsha_server(env, tmp_path / "serve.log", "--workers", "1") as server, \
            httpx2.Client(base_url=server.url, timeout=60) as http:
        created = http.post("/v1/assets", headers=headers, files={"file": ("a.jpg", image_bytes(1600, 1200))})
        assert created.status_code in (200, 201, 202), created.text
        rendered = http.get(f"/v1/assets/{created.json()['id']}/render?w=300&format=webp", headers=headers)
        assert rendered.status_code == 200
        time.sleep(1.5)  # one sweep interval: threads made by the render are lowered by the next sweep
        assert http.get("/healthz").status_code == 200
        threads = _nice_by_thread_name(server.process.pid)
        event_loop = os.getpriority(os.PRIO_PROCESS, server.process.pid)  # with one process: its main thread
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert "libvips worker" in threads, threads
    assert threads["libvips worker"] == {max(base, 6)}, threads
    assert event_loop == base
