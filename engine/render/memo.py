"""A small in-memory memo of cache hits, so a repeated render skips the catalog entirely.

Assets and their derivatives never change once written; they only disappear. Deletions in this process
drop entries at once (the ``render-memo`` event subscriber); entries also expire after ``ttl_s`` so a deletion made
by another process is seen within that time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from engine.storage import derivatives_prefix


class Memo:
    def __init__(self, *, ttl_s: float, size: int):
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()

    def get(self, asset_id: str, key: str) -> Any | None:
        entry = self._entries.get((asset_id, key))
        if entry is None or entry[0] < time.monotonic():
            return None
        self._entries.move_to_end((asset_id, key))
        return entry[1]

    def put(self, asset_id: str, key: str, value: Any) -> None:
        if self.ttl_s <= 0 or self.size <= 0:
            return
        self._entries[(asset_id, key)] = (time.monotonic() + self.ttl_s, value)
        self._entries.move_to_end((asset_id, key))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, asset_ids: list[str]) -> None:
        gone = set(asset_ids)
        for entry in [k for k in self._entries if k[0] in gone]:
            del self._entries[entry]


class HotBytes:
    """The bytes of small, recently served derivatives, within a memory budget (least recently used go).

    An entry holds the id of the derivative row its bytes were read for, and is served only for that row: a
    derivative stored again under the same key (the asset's original restored in another process, say) is a
    new row, and its old bytes are never served for it. So the entries need no time to live, only the rows
    do (``Memo``). With one, each entry expired every few seconds and sent a request to the store, through
    worker-thread hops that wait behind the heavy threads under load: that was the tail of cached renders.
    """

    def __init__(self, *, budget_bytes: int, largest_bytes: int):
        self.budget = budget_bytes
        self.largest = largest_bytes
        self.used = 0
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()

    def get(self, blob_key: str, derivative_id: str | None) -> bytes | None:
        entry = self._entries.get(blob_key)
        if entry is None or derivative_id is None or entry[0] != derivative_id:
            return None
        self._entries.move_to_end(blob_key)
        return entry[1]

    def put(self, blob_key: str, derivative_id: str, data: bytes) -> None:
        if self.budget <= 0 or len(data) > self.largest:
            return
        previous = self._entries.pop(blob_key, None)
        if previous is not None:
            self.used -= len(previous[1])
        self._entries[blob_key] = (derivative_id, data)
        self.used += len(data)
        while self.used > self.budget and self._entries:
            _key, (_id, dropped) = self._entries.popitem(last=False)
            self.used -= len(dropped)

    def forget(self, asset_ids: list[str]) -> None:
        prefixes = tuple(derivatives_prefix(asset_id) for asset_id in asset_ids)
        for key in [k for k in self._entries if k.startswith(prefixes)]:
            self.used -= len(self._entries.pop(key)[1])
