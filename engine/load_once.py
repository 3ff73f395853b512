"""Models loaded on first use, once per process, whichever thread asks first."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    """A loader that runs its factory once; concurrent first callers wait for that one load."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._lock = threading.Lock()
        self._loaded: list[T] = []
        functools.update_wrapper(self, factory)

    def __call__(self) -> T:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._loaded.append(self._factory())
        return self._loaded[0]

    def loaded(self) -> bool:
        """Whether a call would return at once (the warm-up and the search use it to avoid waiting)."""
        return bool(self._loaded)


def load_once(factory: Callable[[], T]) -> Once[T]:
    """Wrap a loader so concurrent first callers wait for one load and everyone shares its result."""
    return Once(factory)
