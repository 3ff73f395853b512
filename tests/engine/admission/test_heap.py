"""Full garbage collections that skip the long-lived heap: a server collects and freezes once at start, and
again after a full collection that was slow; cycles made later are still collected. Each case runs in a
process of its own: a freeze is for the process's lifetime, and the test runner's heap must keep its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(script: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_start_freezes_the_survivors_and_later_cycles_are_still_collected() -> None:
    found = _run("""
        import gc, json, weakref
        from engine.admission import LongLivedHeap
        before = gc.get_freeze_count()
        heap = LongLivedHeap(refreeze_after_ms=10_000)
        heap.start()
        frozen = gc.get_freeze_count()

        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after the freeze: only the collector can free it
        alive = weakref.ref(a)
        del a, b
        gc.collect()
        print(json.dumps({"before": before, "frozen": frozen, "cycle_freed": alive() is None,
                          "refrozen": heap.refrozen, "watching": heap.watching}))
    """)
    assert found["before"] == 0
    assert found["frozen"] > 10_000  # every module, class and function loaded so far
    assert found["cycle_freed"] is True
    assert found["refrozen"] == 0  # that collection was fast (under 10 s): nothing frozen again
    assert found["watching"] is True


def test_a_slow_full_collection_freezes_its_survivors_and_stop_ends_the_watch() -> None:
    found = _run("""
        import gc, json
        from engine.admission import LongLivedHeap
        heap = LongLivedHeap(refreeze_after_ms=0.0)  # every full collection counts as slow
        heap.start()
        frozen = gc.get_freeze_count()
        kept = [[i] for i in range(50_000)]  # long-lived state made after start (a model, a cache)
        gc.collect()
        refrozen, after = heap.refrozen, gc.get_freeze_count()
        heap.stop()
        more = [[i] for i in range(1_000)]
        gc.collect(1)  # a young collection is never a reason to freeze
        gc.collect()
        print(json.dumps({"frozen": frozen, "refrozen": refrozen, "grew_by": after - frozen,
                          "after_stop": heap.refrozen, "final": gc.get_freeze_count() - after,
                          "callbacks": len(gc.callbacks)}))
    """)
    assert found["refrozen"] == 1
    assert found["grew_by"] >= 50_000  # the new lists joined the frozen heap
    assert found["after_stop"] == 1 and found["final"] <= 0  # stopped: the 1,000 later lists stay unfrozen
    assert found["callbacks"] == 0


def test_a_server_process_freezes_its_heap_at_start_unless_turned_off(tmp_path: Path) -> None:
    script = """
        import asyncio, gc, json, sys
        from pathlib import Path
        from picsha_mcp.rest.app import create_app
        from tests.factories import make_settings

        async def main():
            settings = make_settings(Path(sys.argv[1]))
            settings.admission.freeze_heap = sys.argv[2] == "on"
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                print(json.dumps({"frozen": gc.get_freeze_count()}))

        asyncio.run(main())
    """
    for switch, expect_frozen in (("on", True), ("off", False)):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(tmp_path / switch), switch],
                              cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        frozen = json.loads(done.stdout.strip().splitlines()[-1])["frozen"]
        assert (frozen > 10_000) is expect_frozen, (switch, frozen)
