"""The in-memory memo of cache hits and the hot-bytes budget: bounded, expiring, forgetting deletions."""

from __future__ import annotations

import time

from engine.render.memo import HotBytes, Memo


def test_memo_is_bounded_expires_and_forgets_deleted_assets() -> None:
    memo = Memo(ttl_s=60, size=2)
    memo.put("as_a", "k1", 1)
    memo.put("as_b", "k1", 2)
    memo.put("as_c", "k1", 3)
    assert memo.get("as_a", "k1") is None and memo.get("as_c", "k1") == 3
    memo.forget(["as_c"])
    assert memo.get("as_c", "k1") is None and memo.get("as_b", "k1") == 2
    expired = Memo(ttl_s=0.01, size=10)
    expired.put("as_a", "k", 1)
    time.sleep(0.02)
    assert expired.get("as_a", "k") is None
    assert Memo(ttl_s=0, size=10).get("as_a", "k") is None


def test_hot_bytes_keep_within_the_budget_and_skip_large_blobs() -> None:
    hot = HotBytes(budget_bytes=10, largest_bytes=6)
    hot.put("derivatives/as_a/1.webp", "dv_a", b"aaaa")
    hot.put("derivatives/as_b/1.webp", "dv_b", b"bbbb")
    hot.put("derivatives/as_c/1.webp", "dv_c", b"cccccc")  # over budget: the oldest goes
    hot.put("derivatives/as_d/1.webp", "dv_d", b"d" * 7)  # larger than any entry may be
    assert hot.get("derivatives/as_a/1.webp", "dv_a") is None and hot.get("derivatives/as_b/1.webp", "dv_b") == b"bbbb"
    assert hot.get("derivatives/as_d/1.webp", "dv_d") is None and hot.used == 10
    hot.forget(["as_c"])
    assert hot.get("derivatives/as_c/1.webp", "dv_c") is None and hot.used == 4


def test_hot_bytes_serve_only_the_row_they_were_read_for_and_do_not_expire() -> None:
    hot = HotBytes(budget_bytes=100, largest_bytes=50)
    hot.put("derivatives/as_a/1.webp", "dv_old", b"aaaa")
    time.sleep(0.02)
    assert hot.get("derivatives/as_a/1.webp", "dv_old") == b"aaaa"  # no time to live: the row is checked instead
    # stored again under the same key (its original restored elsewhere): a new row, so the old bytes never answer
    assert hot.get("derivatives/as_a/1.webp", "dv_new") is None
    assert hot.get("derivatives/as_a/1.webp", None) is None  # a derivative still on its way to the store
    hot.put("derivatives/as_a/1.webp", "dv_new", b"bb")
    assert hot.get("derivatives/as_a/1.webp", "dv_new") == b"bb" and hot.used == 2
    assert hot.get("derivatives/as_a/1.webp", "dv_old") is None
