"""URL-signing keys kept in the catalog, so every process on every machine signs and verifies alike.

Used when no keys are configured (``PICSHA_SIGNING__KEYS`` wins). The first process to start creates the
shared key under a fixed key id; a concurrent first start inserts the same id, keeps whichever row landed
first and reads it back. Keys an older version kept in ``<data_dir>/signing-keys.json`` are imported (if
absent) so links signed with them keep working; the file itself is never changed.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import sqlalchemy as sa

from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now

SHARED_KID = "c1"
LEGACY_FILE = "signing-keys.json"


def _legacy_keys(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text())
        return {str(kid): bytes.fromhex(secret).hex() for kid, secret in stored.items()}
    except (ValueError, AttributeError, TypeError) as error:
        raise ValueError(f"{path} is not a signing-key file ({{kid: hex secret}}): {error}") from error


async def shared_keys(catalog: Catalog, *, legacy_file: Path | None = None) -> dict[str, bytes]:
    """Every signing key in the catalog by key id, the one that signs first; created when missing."""
    k = tables.signing_keys
    stamp = now()
    wanted = {SHARED_KID: secrets.token_hex(32)} | (_legacy_keys(legacy_file) if legacy_file else {})
    rows = [{"kid": kid, "secret": secret, "created_at": stamp} for kid, secret in wanted.items()]
    async with catalog.begin() as conn:
        insert = upsert.insert(conn, k).values(rows)
        await conn.execute(insert.on_conflict_do_nothing(index_elements=[k.c.kid]))
    async with catalog.connect() as conn:
        stored = (await conn.execute(sa.select(k.c.kid, k.c.secret).order_by(k.c.created_at.desc(), k.c.kid))).all()
    keys = {row.kid: bytes.fromhex(row.secret) for row in stored}
    return {SHARED_KID: keys.pop(SHARED_KID)} | keys
