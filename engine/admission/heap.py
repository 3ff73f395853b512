"""Full garbage collections that do not stall requests.

CPython's cycle collector stops the process while a full (generation 2) collection walks every tracked
object. A server process holds a few hundred thousand of them before it answers anything (modules,
pydantic and SQLAlchemy models, LanceDB's and the engine's state), all alive for the process's lifetime, and
under steady load a full collection comes every few seconds: each one stalled the event loop for 40-700 ms
on a 2-core machine, which is where the p99 of a cached render or a get went under mixed load.

``LongLivedHeap`` collects once at start and freezes what survives (``gc.freeze``), so later full
collections walk only what was made since. Whenever a full collection still takes longer than
``refreeze_after_ms`` (a burst of lazy imports, models loaded by a warm-up), its survivors are frozen too,
right after it. Frozen objects are still freed by reference counting the moment they
are unused; only a reference cycle among objects that were frozen is never collected, a small and bounded
cost for state that lives as long as the process.
"""

from __future__ import annotations

import gc
import time
from typing import Any


class LongLivedHeap:
    def __init__(self, *, refreeze_after_ms: float = 20.0):
        self.refreeze_after_ms = refreeze_after_ms
        self.refrozen = 0  # freezes after slow full collections (tests and diagnostics)
        self.watching = False
        self._started_at = 0.0

    def start(self) -> None:
        """Collect, freeze the survivors and watch full collections from now on."""
        if self.watching:
            return
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self._on_collection)
        self.watching = True

    def stop(self) -> None:
        """Stop watching. What is frozen stays frozen: unfreezing would make the next collection walk it all."""
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)
        self.watching = False

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started_at = time.perf_counter()
        elif (time.perf_counter() - self._started_at) * 1000 > self.refreeze_after_ms:
            # Right after a full collection every tracked object is a survivor (the young generations were
            # merged into it), so this freezes exactly what is alive, not a request's garbage in passing.
            gc.freeze()
            self.refrozen += 1
