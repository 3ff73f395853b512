"""The local Redis for tests of shared rate-limit counters, or a clear skip where none is reachable."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

REDIS_URL = os.environ.get("PICSHA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_url() -> str:
    """The URL of a reachable Redis (tests key their counters by fresh ids, so a shared one is fine)."""
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis must be reachable in CI at {REDIS_URL}: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({error}); set PICSHA_TEST_REDIS to test it")
    return REDIS_URL
