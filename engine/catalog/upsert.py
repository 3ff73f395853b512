"""``INSERT ... ON CONFLICT`` for the catalog's two dialects (both spell it the same way in SQLAlchemy)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert(conn: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An insert with ``on_conflict_do_update`` / ``on_conflict_do_nothing`` for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
