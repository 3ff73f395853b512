"""Models loaded on first use, once per process, whichever thread asks first."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def load_once(factory: Callable[[], T]) -> Callable[[], T]:
    """Wrap a loader so concurrent first callers wait for one load and everyone shares its result."""
    lock = threading.Lock()
    loaded: list[T] = []

    @functools.wraps(factory)
    def get() -> T:
        if not loaded:
            with lock:
                if not loaded:
                    loaded.append(factory())
        return loaded[0]

    return get
