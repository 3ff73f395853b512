"""A short run of bench/load.py's mixed load against ``picsha serve``: many clients at once, no 5xx but a
503 with Retry-After, and every upload the server accepted can be read back (the long run: the bench)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bench.load import lost_uploads, run_load, start_server
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_a_short_mixed_load_gets_no_server_errors_and_loses_no_upload(tmp_path: Path) -> None:
    port = free_port()
    server, key = start_server(tmp_path / "data", port)
    base = f"http://127.0.0.1:{port}"
    try:
        tally = asyncio.run(run_load(base, key, clients=24, seconds=6))
        lost = asyncio.run(lost_uploads(base, key, tally.accepted))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    answered = sum(sum(counts.values()) for counts in tally.statuses.values())
    assert answered > 50 and tally.accepted, tally.statuses
    assert tally.server_errors == 0, {route: dict(counts) for route, counts in tally.statuses.items()}
    assert tally.refusals_without_retry_after == 0 and not tally.transport_errors
    assert lost == []
