"""What authentication, the scope check and rate limits add to a request, beside an unauthenticated route.

    python bench/auth.py [--seconds 3] [--keys 10000]

Starts ``picsha serve --workers 1`` (SQLite, embedded) four times over one data folder and measures, at one client,
``GET /healthz`` (no key: the baseline of the same run) and ``GET /v1/settings`` (a key, then the account's
settings from the process's cache: no catalog read once warm):

- ``auth off``: no key and no limits: the route's own cost;
- ``key``: a key, no rate limit configured;
- ``key+limits``: a key, counted against a per-key and a per-account limit (sliding window in memory,
  limits set far above the rate here, so the check runs in full and never refuses);
- ``key+limits, N keys``: the same after N more keys were written to the catalog.

The added cost is the route's p50 less the auth-off p50, each first made relative to ``/healthz`` of its own
server. Target: <= 0.3 ms added at p50 for key+limits, and no measurable change with N keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.load import start_server  # noqa: E402
from bench.routes import Result, hammer  # noqa: E402
from engine.auth.keys import hash_secret  # noqa: E402
from engine.catalog import Catalog, tables  # noqa: E402
from engine.catalog.database import now  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.processes import stop_process  # noqa: E402

HIGH = {"per_minute": 1_000_000_000, "burst": 100_000_000}
LIMITS = json.dumps({"default": {"key": HIGH, "account": HIGH}})
TARGET_MS = 0.3


async def add_keys(data_dir: Path, count: int) -> None:
    """``count`` keys of one other account, written straight to the catalog (the CLI would take minutes)."""
    catalog = Catalog(f"sqlite+aiosqlite:///{(data_dir / 'catalog.db').resolve()}")
    try:
        async with catalog.begin() as conn:
            await conn.execute(tables.accounts.insert().values(id="acct_bench", name="bench", is_owner=False,
                                                               created_at=now()))
            await conn.execute(tables.api_keys.insert(), [
                {"id": f"key_bench{n}", "account_id": "acct_bench", "name": f"bench {n}", "prefix": "sk_live_xxxx",
                 "key_hash": hash_secret(secrets.token_hex(16)), "created_at": now()} for n in range(count)])
        async with catalog.connect() as conn:
            print(f"   keys in the catalog: {await conn.scalar(sa.select(sa.func.count()).select_from(tables.api_keys))}")
    finally:
        await catalog.close()


async def measure(data_dir: Path, seconds: float, **settings: str) -> tuple[Result, Result]:
    port = free_port()
    server, key = start_server(data_dir, port, workers=1, **settings)
    headers = {} if settings.get("PICSHA_AUTH") == "off" else {"Authorization": f"Bearer {key}"}
    try:
        base = await hammer(port, {}, "/healthz", 1, seconds, "healthz")
        route = await hammer(port, headers, "/v1/settings", 1, seconds, "settings")
    finally:
        stop_process(server, grace_s=30)
    assert route.errors == 0, "the measured route answered non-200"
    return base, route


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        rows: list[tuple[str, Result, Result]] = []
        for label, settings in (("auth off", {"PICSHA_AUTH": "off"}), ("key", {}),
                                ("key+limits", {"PICSHA_LIMITS__PLANS": LIMITS})):
            rows.append((label, *await measure(data_dir, args.seconds, **settings)))
        await add_keys(data_dir, args.keys)
        rows.append((f"key+limits, {args.keys} keys",
                     *await measure(data_dir, args.seconds, PICSHA_LIMITS__PLANS=LIMITS)))
    own = rows[0][2].p(0.5) - rows[0][1].p(0.5)  # the route's own cost above /healthz, auth off
    print(f"{'server':26} {'healthz p50':>11} {'route p50':>10} {'route/healthz':>13} {'added ms':>9}")
    added: dict[str, float] = {}
    for label, base, route in rows:
        added[label] = route.p(0.5) - base.p(0.5) - own
        print(f"{label:26} {base.p(0.5):11.3f} {route.p(0.5):10.3f} {route.p(0.5) / base.p(0.5):13.2f} "
              f"{added[label]:9.3f}")
    limited, many = added["key+limits"], added[f"key+limits, {args.keys} keys"]
    print(f"auth + scope + rate limit added at p50: {limited:.3f} ms (target <= {TARGET_MS} ms: "
          f"{'met' if limited <= TARGET_MS else 'NOT met'}); rate limit alone: {limited - added['key']:.3f} ms")
    print(f"with {args.keys} more keys: {many - limited:+.3f} ms ({'no measurable change' if abs(many - limited) <= 0.05 else 'CHANGED'}, "
          "within 0.05 ms)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--keys", type=int, default=10_000)
    sys.exit(asyncio.run(main(parser.parse_args())))
