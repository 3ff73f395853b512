"""Peak memory growth of this process while something runs, sampled from another thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil


@dataclass
class Peak:
    growth: int = 0
    seconds: float = 0.0


@contextmanager
def peak_rss_growth(interval_s: float = 0.002) -> Iterator[Peak]:
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = Peak()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.growth = max(peak.growth, process.memory_info().rss - baseline)
            done.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield peak
    finally:
        peak.seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        peak.growth = max(peak.growth, process.memory_info().rss - baseline)
