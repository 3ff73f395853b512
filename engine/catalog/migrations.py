"""Versioned schema migrations, applied in order at start-up.

Each migration is a function over a synchronous connection and is never edited after release: a change
to the schema is a new migration appended to ``MIGRATIONS`` (and reflected in ``tables.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

Migration = Callable[[Connection], None]

_versions = sa.Table(
    "schema_migrations",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


def _m001_initial(conn: Connection) -> None:
    md = sa.MetaData()
    ts = sa.DateTime(timezone=True)
    sa.Table(
        "accounts", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_owner", sa.Boolean, nullable=False),
        sa.Column("created_at", ts, nullable=False),
    )
    sa.Table(
        "api_keys", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("revoked_at", ts, nullable=True),
        sa.Column("last_used_at", ts, nullable=True),
    )
    sa.Table(
        "assets", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(300), nullable=False),
        sa.Column("exif", sa.JSON, nullable=False),
        sa.Column("location", sa.JSON, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("alt_text", sa.Text, nullable=True),
        sa.Column("is_public", sa.Boolean, nullable=False),
        sa.Column("ai", sa.JSON, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Index("ix_assets_account_created", "account_id", "created_at"),
        sa.Index("ix_assets_sha256", "sha256"),
    )
    sa.Table(
        "derivatives", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("params_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("blob_key", sa.String(300), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.UniqueConstraint("asset_id", "params_hash", name="uq_derivatives_asset_params"),
    )
    sa.Table(
        "jobs", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("asset_id", sa.String(40), nullable=True, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("finished_at", ts, nullable=True),
    )
    sa.Table(
        "usage_events", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("asset_id", sa.String(40), nullable=True, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("amount_micros", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Index("ix_usage_account_created", "account_id", "created_at"),
    )
    md.create_all(conn)


def _m002_uploads_and_size_index(conn: Connection) -> None:
    md = sa.MetaData()
    ts = sa.DateTime(timezone=True)
    uploads = sa.Table(
        "uploads", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("length", sa.BigInteger, nullable=True),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("asset_id", sa.String(40), nullable=True),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("expires_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    uploads.create(conn)
    assets = sa.Table("assets", sa.MetaData(), sa.Column("account_id"), sa.Column("size"))
    sa.Index("ix_assets_account_size", assets.c.account_id, assets.c.size).create(conn)


def _m003_resumable_upload_state(conn: Connection) -> None:
    """TUS state: concatenation, the spool's backend state, the echoed metadata and the writer's lease."""
    columns = [
        sa.Column("concat", sa.String(10), nullable=True),
        sa.Column("parts", sa.JSON, nullable=True),
        sa.Column("spool", sa.JSON, nullable=True),
        sa.Column("metadata_header", sa.Text, nullable=True),
        sa.Column("lease", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    ]
    for column in columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE uploads ADD COLUMN {column.name} {kind}"))
    uploads = sa.Table("uploads", sa.MetaData(), sa.Column("expires_at"))
    sa.Index("ix_uploads_expires_at", uploads.c.expires_at).create(conn)


MIGRATIONS: list[tuple[str, Migration]] = [
    ("initial", _m001_initial),
    ("uploads_and_size_index", _m002_uploads_and_size_index),
    ("resumable_upload_state", _m003_resumable_upload_state),
]


def current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_migrations"):
        return 0
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(_versions.c.version), 0))).scalar_one()


def migrate(conn: Connection, *, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all); return the versions applied."""
    _versions.create(conn, checkfirst=True)
    done = current_version(conn)
    applied: list[int] = []
    for version, (name, step) in enumerate(MIGRATIONS, start=1):
        if version <= done or (target is not None and version > target):
            continue
        step(conn)
        conn.execute(_versions.insert().values(version=version, name=name, applied_at=datetime.now(UTC)))
        applied.append(version)
    return applied
