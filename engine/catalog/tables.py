"""The current schema, as SQLAlchemy Core tables used by queries.

Migrations (``migrations.py``) are what create and change the database; this module must describe the
schema the newest migration leaves behind (a test compares the two).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

Timestamp = sa.DateTime(timezone=True)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_owner", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(20), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.Column("last_used_at", Timestamp, nullable=True),
    # The user who owns the key (null: made by the server's operator on the command line).
    sa.Column("user_id", sa.String(40), nullable=True, index=True),
    sa.Column("scopes", sa.JSON, nullable=True),  # null: every scope the owner's role allows
    sa.Column("credit_limit_micros", sa.BigInteger, nullable=True),
    sa.Column("expires_at", Timestamp, nullable=True),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("account_id", "name", name="uq_teams_account_name"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),  # logins name no account
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("team_id", sa.String(40), sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("account_id", sa.String(40), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

assets = sa.Table(
    "assets",
    metadata,
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
    sa.Column("exif", sa.JSON, nullable=False, default=dict),
    sa.Column("location", sa.JSON, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False, default=list),
    sa.Column("metadata", sa.JSON, nullable=False, default=dict),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("alt_text", sa.Text, nullable=True),
    sa.Column("is_public", sa.Boolean, nullable=False, default=False),
    sa.Column("ai", sa.JSON, nullable=False, default=dict),
    sa.Column("config", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # When it was taken (EXIF) or made, as the wall clock of its own place written as UTC, and that place's
    # UTC offset in minutes when known (engine.assets.taken). Null only in rows no migration has reached.
    sa.Column("taken_at", Timestamp, nullable=True),
    sa.Column("taken_offset", sa.Integer, nullable=True),
    # The sum of this asset's usage-ledger rows, kept by a trigger on usage_events (migration 6).
    sa.Column("cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    # The media library (engine.library): its folder, when it went to the trash, its current file version.
    sa.Column("folder_id", sa.String(40), nullable=True),
    sa.Column("trashed_at", Timestamp, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_assets_account_created", "account_id", "created_at"),
    sa.Index("ix_assets_account_taken", "account_id", "taken_at"),
    sa.Index("ix_assets_account_size", "account_id", "size"),
    sa.Index("ix_assets_sha256", "sha256"),
    sa.Index("ix_assets_account_trashed", "account_id", "trashed_at"),
    sa.Index("ix_assets_folder", "folder_id"),
)

derivatives = sa.Table(
    "derivatives",
    metadata,
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
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("asset_id", "params_hash", name="uq_derivatives_asset_params"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("asset_id", sa.String(40), nullable=True, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("payload", sa.JSON, nullable=False, default=dict),
    sa.Column("steps", sa.JSON, nullable=False, default=list),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Column("progress", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("done", sa.Integer, nullable=True),
    sa.Column("total", sa.Integer, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("lease_owner", sa.String(80), nullable=True),
    sa.Column("lease_until", Timestamp, nullable=True),
    sa.Column("run_after", Timestamp, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=True),
    sa.Column("updated_at", Timestamp, nullable=True),
    sa.Index("ix_jobs_status_run_after", "status", "run_after"),
    sa.Index("ix_jobs_account_status", "account_id", "status"),
)

usage_events = sa.Table(
    "usage_events",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False),
    sa.Column("asset_id", sa.String(40), nullable=True, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("key_id", sa.String(40), nullable=True, index=True),  # the key that spent it (credit limits)
    sa.Index("ix_usage_account_created", "account_id", "created_at"),
)

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("length", sa.BigInteger, nullable=True),
    sa.Column("offset", sa.BigInteger, nullable=False, default=0),
    sa.Column("metadata", sa.JSON, nullable=False, default=dict),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("asset_id", sa.String(40), nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("expires_at", Timestamp, nullable=True, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("concat", sa.String(10), nullable=True),
    sa.Column("parts", sa.JSON, nullable=True),
    sa.Column("spool", sa.JSON, nullable=True),
    sa.Column("metadata_header", sa.Text, nullable=True),
    sa.Column("lease", sa.String(40), nullable=True),
    sa.Column("lease_until", Timestamp, nullable=True),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("failure_streak", sa.Integer, nullable=False),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("webhook_id", sa.String(40), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", sa.String(40), nullable=False),
    sa.Column("event", sa.String(60), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("job_id", sa.String(40), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("blob_key", sa.String(300), nullable=False),
    # When set and past, the collector deletes the blob unless an asset row holds it. An ingest sets it an
    # ingest-grace ahead before writing the bytes, so a concurrent collection cannot take them.
    sa.Column("collect_after", Timestamp, nullable=True, index=True),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(40), primary_key=True),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("steps", sa.JSON, nullable=False),  # [{"toolId": ..., "settings": {...}}, ...]
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("user_id", sa.String(40), nullable=True),  # its owner; null: made before users existed
)

scrape_schedules = sa.Table(
    "scrape_schedules",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("schedule", sa.String(100), nullable=False),
    sa.Column("cron", sa.String(100), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    # The next period's start; a process claims the period by moving it on with a conditional UPDATE.
    sa.Column("next_run", Timestamp, nullable=False),
    sa.Column("last_run_at", Timestamp, nullable=True),
    sa.Column("last_job_id", sa.String(40), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_scrape_schedules_enabled_next_run", "enabled", "next_run"),
)

scrape_schedule_seen = sa.Table(
    "scrape_schedule_seen",
    metadata,
    sa.Column("schedule_id", sa.String(40), sa.ForeignKey("scrape_schedules.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
)

# Bytes an account stored over each UTC day (engine.usage.meter): ``bytes`` is the level since ``since`` (Unix
# seconds), ``byte_seconds`` what the day held from its start up to ``since``.
storage_days = sa.Table(
    "storage_days",
    metadata,
    sa.Column("account_id", sa.String(40), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("byte_seconds", sa.Float, nullable=False),
    sa.Column("since", sa.Float, nullable=False),
)

account_settings = sa.Table(
    "account_settings",
    metadata,
    sa.Column("account_id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(60), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("updated_by", sa.String(40), nullable=True),
)

folders = sa.Table(
    "folders",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("parent_id", sa.String(40), sa.ForeignKey("folders.id", ondelete="CASCADE"), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

collection_assets = sa.Table(
    "collection_assets",
    metadata,
    sa.Column("collection_id", sa.String(40), sa.ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
              index=True),
    sa.Column("position", sa.Float, nullable=False),  # fractional: an insert between two needs no renumbering
)

# Earlier versions of an asset's file; the current one is the asset row itself. Each row holds its blob
# (engine.assets.blobs counts these as holders), so the bytes stay until the version goes.
asset_versions = sa.Table(
    "asset_versions",
    metadata,
    sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("blob_key", sa.String(300), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("filename", sa.String(512), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

shares = sa.Table(
    "shares",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False, index=True),
    sa.Column("target_type", sa.String(20), nullable=False),
    sa.Column("target_id", sa.String(40), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=True),
    sa.Column("expires_at", Timestamp, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)
