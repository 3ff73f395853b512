"""One writer process for tests/engine/search/test_index_s3.py: opens its own SearchIndex on a URI and
upserts the ids it is given, one at a time, in lockstep with the other writers: before each upsert it
leaves ``<writer>.<n>.ready`` in the steps folder and waits for ``<n>.go``, which the test makes once every
writer is ready, so the writers' commits of step n race each other. Prints a JSON line with when it
started and finished writing.

    INDEX_WRITER_STORAGE_OPTIONS='{"aws_endpoint": ...}' python index_writer.py URI ACCOUNT WRITER STEPS_DIR ID...
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from engine.search.index import SearchIndex
from engine.search.models import IndexRow


async def wait_for(go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no go file at {go}")
        await asyncio.sleep(0.002)


async def write(uri: str, options: dict[str, str], account: str, writer: str, steps: Path,
                ids: list[str]) -> dict[str, float]:
    index = await SearchIndex.open(uri, "assets", clip_dim=8, storage_options=options, read_consistency_s=0)
    started = 0.0
    for number, asset_id in enumerate(ids):
        (steps / f"{writer}.{number}.ready").touch()
        await wait_for(steps / f"{number}.go")
        started = started or time.time()
        await index.upsert(IndexRow(
            id=asset_id, account_id=account, type="image", status="ready", filename=f"{writer}-{number}.jpg",
            created_at=datetime(2025, 6, 1, tzinfo=UTC), text=f"written by {writer} as number {number}",
        ))
    return {"started": started, "finished": time.time()}


def main() -> None:
    uri, account, writer, steps, *ids = sys.argv[1:]
    options = json.loads(os.environ.get("INDEX_WRITER_STORAGE_OPTIONS") or "{}")
    print(json.dumps(asyncio.run(write(uri, options, account, writer, Path(steps), ids))), flush=True)


if __name__ == "__main__":
    main()
