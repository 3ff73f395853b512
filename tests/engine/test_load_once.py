import threading
import time

from engine.load_once import load_once


def test_concurrent_first_callers_share_one_load() -> None:
    calls: list[int] = []

    @load_once
    def load() -> object:
        calls.append(1)
        time.sleep(0.05)  # long enough for every thread to arrive while the first is loading
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(load())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_a_failed_load_is_tried_again() -> None:
    attempts: list[int] = []

    @load_once
    def load() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("model file missing")
        return 42

    try:
        load()
    except RuntimeError:
        pass
    assert load() == 42 and len(attempts) == 2


def test_loaded_says_whether_a_call_would_wait() -> None:
    @load_once
    def load() -> int:
        return 7

    assert not load.loaded()
    assert load() == 7 and load.loaded()
