"""The threads that answer requests ahead of the threads that compute.

A server process answers cheap requests (a get, a list, a cached render) on its event loop and its catalog
reader threads, and does heavy work (cold renders, search embeddings, upload previews, in-process analyses)
on other threads: anyio's workers, libvips's workers, onnxruntime's. On a machine with few cores the heavy
threads outnumber the cores, and a get waits for the scheduler behind them (a p99 in the hundreds of ms).
Giving every other thread of the process a higher nice value lets the kernel run the request path first
whenever it is ready, while the heavy work still takes every idle cycle.

The heavy threads are not all ours to start (libvips and onnxruntime make their own, from a spawner thread
at the process's priority), so the process's threads are swept: at start and then every ``interval_s``
any thread not on the request path that is above the chosen nice value is lowered to it. Linux only (a
thread's nice value is per thread there); elsewhere this does nothing. Raising a nice value needs no
privilege; nothing here ever lowers one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

TASKS = Path("/proc/self/task")
REQUEST_PATH_THREADS = ("catalog-read",)  # name prefixes of threads that answer requests (besides the loop)


def supported() -> bool:
    return sys.platform.startswith("linux") and TASKS.is_dir()


def request_path_thread_ids(extra: Callable[[threading.Thread], bool] | None = None) -> set[int]:
    """Native ids of the threads that answer requests: the calling (event loop) thread, the catalog
    readers, and any thread ``extra`` accepts (e.g. the async SQLite driver's connection threads)."""
    ids = {threading.get_native_id()}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        if thread.name.startswith(REQUEST_PATH_THREADS) or (extra is not None and extra(thread)):
            ids.add(thread.native_id)
    return ids


def lower(thread_ids: Iterable[int], nice: int) -> int:
    """Raise each thread's nice value to at least ``nice``; return how many changed. A thread that ended
    meanwhile is skipped."""
    changed = 0
    for tid in thread_ids:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                changed += 1
        except (ProcessLookupError, PermissionError):
            continue
    return changed


def compute_thread_ids(keep: set[int]) -> list[int]:
    ids = []
    for entry in TASKS.iterdir():
        tid = int(entry.name)
        if tid not in keep:
            ids.append(tid)
    return ids


def _is_async_sqlite_thread(thread: threading.Thread) -> bool:
    # aiosqlite runs each connection's statements on a thread of its own: catalog writes and async reads
    return type(thread).__module__.startswith("aiosqlite")


class RequestPriority:
    """Keeps the threads of this process that do not answer requests at ``nice`` (see the module)."""

    def __init__(self, nice: int, *, interval_s: float = 1.0):
        self.nice = nice
        self.interval_s = interval_s
        self.lowered = 0  # threads lowered so far (tests and diagnostics)
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.nice > 0 and supported()

    def sweep(self) -> int:
        """Lower every thread not on the request path now; call from the event loop's thread."""
        keep = request_path_thread_ids(_is_async_sqlite_thread)
        changed = lower(compute_thread_ids(keep), self.nice)
        self.lowered += changed
        return changed

    def start(self) -> None:
        if self.active and self._task is None:
            self.sweep()
            self._task = asyncio.get_running_loop().create_task(self._every_interval(), name="request-priority")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.sweep()
