"""Cold start of ``picsha mcp``: how long a new stdio session waits for its first answers.

Desktop clients start one ``picsha mcp`` process per session, so whatever that process loads before its
first search is paid again and again. This starts ``picsha mcp`` with the official MCP client over stdio
(as Claude Desktop does) and times, from the spawn:

- ready: ``initialize`` answered;
- the first ``search_assets`` call sent right after ready, then a second one (the same query);
- the first ``update_asset`` (a new tag: the asset's words are re-indexed and, with vectors, embedded);
- when the meaning path first answers (a hit's ``why`` says "meaning" and nothing is ``warming``).

It runs twice: a fresh data folder (no model cache yet) and a second process on the same folder (the
cache the first one wrote). Before measuring, a few assets are seeded with vectors (``vectorize: true``)
so the meaning path is needed, and the model cache the seeding wrote is removed. Goal: the first search
answers within 1 s of ready.

    python bench/mcp_coldstart.py [--runs 2] [--assets 6] [--source DIR]

``--source`` runs ``picsha mcp`` from another checkout of Picsha (e.g. ``git worktree add /tmp/before
<commit>``) on the same virtualenv, for a before/after comparison in one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from tests.factories import image_bytes  # noqa: E402

PICSHA = str(Path(sys.executable).with_name("picsha"))
QUERY = "a picture of the seaside on holiday"
# Only what the meaning path needs: the words and their MiniLM vector; no OCR, faces or NSFW models.
ANALYSES = {
    "PICSHA_ENRICH__DEFAULTS__AUTO_TAG": "false", "PICSHA_ENRICH__DEFAULTS__SAFE_SEARCH": "false",
    "PICSHA_ENRICH__DEFAULTS__OCR": "false", "PICSHA_ENRICH__DEFAULTS__AUTO_SUMMARIZE": "false",
    "PICSHA_ENRICH__DEFAULTS__VECTORIZE": "true",
}
SEEDS = [
    ("beach.jpg", "Waves on a sandy beach, summer holiday by the sea", ["travel"]),
    ("mountain.jpg", "Snowy mountain peaks above a pine forest", ["travel"]),
    ("receipt.jpg", "A shop receipt for groceries and coffee", ["finance"]),
    ("dog.jpg", "A brown dog playing fetch in the park", ["pets"]),
    ("harbour.jpg", "Fishing boats moored in a small harbour at dusk", ["travel"]),
    ("office.jpg", "Whiteboard notes from the quarterly planning meeting", ["work"]),
]


SOURCE: str | None = None  # --source: a checkout whose packages the measured process imports first


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSHA_")}
    if SOURCE:
        env["PYTHONPATH"] = SOURCE  # ahead of the editable install's finder
    return env | {"PICSHA_DATA_DIR": str(data_dir), **ANALYSES}


async def seed(data_dir: Path, count: int) -> str:
    """Assets with text vectors (analysis jobs run here and are waited for); the id of the one updated later."""
    os.environ.update({k: v for k, v in env_for(data_dir).items() if k.startswith("PICSHA_")})
    async with Engine.open(Settings()) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        first = ""
        for n in range(count):
            name, description, tags = SEEDS[n % len(SEEDS)]

            async def chunks(n: int = n) -> Any:
                yield image_bytes(160 + n, 120)

            options = IngestOptions(tags=tags, description=description, config={"vectorize": True})
            asset = await engine.ingest.from_stream(owner, f"{n}-{name}", chunks(), options)
            assert await engine.enrich.wait_for_asset(owner.account_id, asset.id, 120), "seeding timed out"
            first = first or asset.id
    for key in [k for k in os.environ if k.startswith("PICSHA_")]:
        del os.environ[key]
    return first


@dataclass
class Run:
    label: str
    ready_s: float = 0.0
    search1_s: float = 0.0
    search2_s: float = 0.0
    update_s: float = 0.0
    meaning_after_s: float | None = None  # from ready until a search's hits were first found by meaning too
    search1: dict[str, Any] = field(default_factory=dict)
    search2: dict[str, Any] = field(default_factory=dict)


def by_meaning(answer: dict[str, Any]) -> bool:
    """The meaning path ran and found something (the seeds make sure it has something to find)."""
    return not answer.get("warming") and any("meaning" in hit.get("why", "") for hit in answer.get("results", []))


def _structured(result: Any) -> dict[str, Any]:
    if result.is_error:
        raise RuntimeError(result.content[0].text)
    return dict(result.structured_content or {})


async def measure(label: str, data_dir: Path, asset_id: str) -> Run:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=PICSHA, args=["mcp"], env=env_for(data_dir))
    run = Run(label)
    start = time.perf_counter()
    async with Client(params) as client:  # entering it spawns the process and sends initialize
        ready = time.perf_counter()
        run.ready_s = ready - start

        async def timed(name: str, arguments: dict[str, Any]) -> tuple[float, dict[str, Any]]:
            begun = time.perf_counter()
            answer = _structured(await client.call_tool(name, arguments))
            return time.perf_counter() - begun, answer

        run.search1_s, run.search1 = await timed("search_assets", {"query": QUERY})
        run.search2_s, run.search2 = await timed("search_assets", {"query": QUERY})
        run.update_s, _ = await timed("update_asset", {"id": asset_id, "tags": ["travel", f"seen-{label}"]})
        if by_meaning(run.search1):
            run.meaning_after_s = run.search1_s
        elif by_meaning(run.search2):
            run.meaning_after_s = run.search1_s + run.search2_s
        while run.meaning_after_s is None and time.perf_counter() - ready < 30:
            _, answer = await timed("search_assets", {"query": QUERY})
            if by_meaning(answer):
                run.meaning_after_s = time.perf_counter() - ready
            else:
                await asyncio.sleep(0.1)
    return run


def describe(answer: dict[str, Any]) -> str:
    why = sorted({hit.get("why", "") for hit in answer.get("results", [])})
    warming = answer.get("warming") or []
    return f"{answer.get('total')} hits, why={'|'.join(why)}" + (f", warming={','.join(warming)}" if warming else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2, help="Rounds of (fresh folder, second process).")
    parser.add_argument("--assets", type=int, default=6)
    parser.add_argument("--json", action="store_true", help="Also print each run as JSON.")
    parser.add_argument("--source", help="Run picsha mcp from this checkout (seeding uses this one).")
    args = parser.parse_args()
    global SOURCE
    SOURCE = args.source
    results: list[Run] = []
    for round_ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            asset_id = asyncio.run(seed(data_dir, args.assets))
            shutil.rmtree(data_dir / "models", ignore_errors=True)  # "fresh": no model cache yet
            results.append(asyncio.run(measure(f"fresh-{round_}", data_dir, asset_id)))
            results.append(asyncio.run(measure(f"second-{round_}", data_dir, asset_id)))
    print(f"picsha mcp over stdio ({args.source or 'this checkout'}), {args.assets} assets with text vectors, "
          f"query {QUERY!r}")
    print(f"{'run':<10} {'ready':>7} {'search1':>8} {'search2':>8} {'1st/2nd':>8} {'update':>7} {'meaning':>8}  first search")
    for run in results:
        ratio = run.search1_s / run.search2_s if run.search2_s else float("nan")
        meaning = f"{run.meaning_after_s:7.2f}s" if run.meaning_after_s is not None else "   never"
        print(f"{run.label:<10} {run.ready_s:6.2f}s {run.search1_s:7.3f}s {run.search2_s:7.3f}s {ratio:8.1f} "
              f"{run.update_s:6.3f}s {meaning}  {describe(run.search1)}")
    for kind in ("fresh", "second"):
        runs = [r for r in results if r.label.startswith(kind)]
        print(f"median {kind:<6}: ready {statistics.median(r.ready_s for r in runs):.2f} s, first search "
              f"{statistics.median(r.search1_s for r in runs):.3f} s after ready (goal <= 1 s), update "
              f"{statistics.median(r.update_s for r in runs):.3f} s")
    if args.json:
        for run in results:
            print(json.dumps(run.__dict__, default=str))


if __name__ == "__main__":
    main()
