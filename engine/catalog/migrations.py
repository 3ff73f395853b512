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


def _m004_distributed_jobs(conn: Connection) -> None:
    """Jobs claimed with a lease by any process, with progress and cancellation; webhooks; blob references;
    URL-signing keys shared by every process."""
    ts = sa.DateTime(timezone=True)
    columns = [
        sa.Column("progress", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("done", sa.Integer, nullable=True),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_until", ts, nullable=True),
        sa.Column("run_after", ts, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=True),
        sa.Column("updated_at", ts, nullable=True),
    ]
    for column in columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE jobs ADD COLUMN {column.name} {kind}"))
    conn.execute(sa.text("UPDATE jobs SET updated_at = COALESCE(finished_at, started_at, created_at), "
                         "run_after = created_at, cancel_requested = :false"), {"false": False})
    jobs = sa.Table("jobs", sa.MetaData(), sa.Column("status"), sa.Column("run_after"))
    sa.Index("ix_jobs_status_run_after", jobs.c.status, jobs.c.run_after).create(conn)

    md = sa.MetaData()
    sa.Table(
        "webhooks", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("failure_streak", sa.Integer, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    sa.Table(
        "webhook_deliveries", md,
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
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
    )
    sa.Table(
        "blobs", md,
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("blob_key", sa.String(300), nullable=False),
        sa.Column("collect_after", ts, nullable=True, index=True),
    )
    sa.Table(
        "signing_keys", md,
        sa.Column("kid", sa.String(40), primary_key=True),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("created_at", ts, nullable=False),
    )
    md.create_all(conn)
    conn.execute(sa.text("INSERT INTO blobs (sha256, blob_key, collect_after) "
                         "SELECT sha256, MIN(blob_key), NULL FROM assets GROUP BY sha256"))


def _m005_taken_at(conn: Connection) -> None:
    """When each asset was taken or made, apart from when it was uploaded (``created_at``): filled from the
    probed EXIF/PDF/office time already stored in ``exif.created``, else the upload time."""
    from engine.assets.taken import taken_from  # the rule new uploads follow, so old and new rows agree

    for column in (sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
                   sa.Column("taken_offset", sa.Integer, nullable=True)):
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE assets ADD COLUMN {column.name} {kind}"))
    assets = sa.Table(
        "assets", sa.MetaData(),
        sa.Column("id", sa.String(40), primary_key=True), sa.Column("account_id", sa.String(40)),
        sa.Column("exif", sa.JSON), sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("taken_at", sa.DateTime(timezone=True)), sa.Column("taken_offset", sa.Integer),
    )
    update = (assets.update().where(assets.c.id == sa.bindparam("row_id"))
              .values(taken_at=sa.bindparam("taken"), taken_offset=sa.bindparam("offset")))
    last = ""
    while True:  # in batches by id, so a large catalog is never read into memory at once
        rows = conn.execute(sa.select(assets.c.id, assets.c.exif, assets.c.created_at)
                            .where(assets.c.id > last).order_by(assets.c.id).limit(1000)).all()
        if not rows:
            break
        values = []
        for row in rows:
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            taken, offset = taken_from(row.exif if isinstance(row.exif, dict) else {}, created)
            values.append({"row_id": row.id, "taken": taken, "offset": offset})
        conn.execute(update, values)
        last = rows[-1].id
    sa.Index("ix_assets_account_taken", assets.c.account_id, assets.c.taken_at).create(conn)


ASSET_COST_TRIGGER = "usage_events_asset_cost"


def _m006_asset_cost_totals(conn: Connection) -> None:
    """Each asset keeps its cost (the sum of its usage-ledger rows) in ``assets.cost_micros``, added to by a
    trigger in the same transaction as every ledger row, so an answer reads it instead of summing the
    ledger (which grows by a row per delivery). Filled once from the ledger here."""
    conn.execute(sa.text("ALTER TABLE assets ADD COLUMN cost_micros BIGINT NOT NULL DEFAULT 0"))
    conn.execute(sa.text(
        "UPDATE assets SET cost_micros = COALESCE("
        "(SELECT SUM(amount_micros) FROM usage_events WHERE usage_events.asset_id = assets.id), 0)"))
    add = "UPDATE assets SET cost_micros = cost_micros + NEW.amount_micros WHERE id = NEW.asset_id"
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            f"CREATE FUNCTION picsha_asset_cost() RETURNS trigger AS $$ BEGIN {add}; RETURN NULL; END $$ "
            "LANGUAGE plpgsql"))
        conn.execute(sa.text(
            f"CREATE TRIGGER {ASSET_COST_TRIGGER} AFTER INSERT ON usage_events FOR EACH ROW "
            "WHEN (NEW.asset_id IS NOT NULL) EXECUTE FUNCTION picsha_asset_cost()"))
    else:
        conn.execute(sa.text(
            f"CREATE TRIGGER {ASSET_COST_TRIGGER} AFTER INSERT ON usage_events FOR EACH ROW "
            f"WHEN NEW.asset_id IS NOT NULL BEGIN {add}; END"))


def _m007_saved_pipelines(conn: Connection) -> None:
    """Saved file pipelines (a name and a list of image-tool steps), owned by an account."""
    ts = sa.DateTime(timezone=True)
    sa.Table(
        "pipelines", sa.MetaData(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("created_at", ts, nullable=False),
    ).create(conn)


def _m008_scrape_schedules(conn: Connection) -> None:
    """Recurring scrapes, each period claimed by one process through ``next_run``; and the content hashes a
    schedule's runs stored, so a run stores only what is new."""
    ts = sa.DateTime(timezone=True)
    md = sa.MetaData()
    sa.Table(
        "scrape_schedules", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("next_run", ts, nullable=False),
        sa.Column("last_run_at", ts, nullable=True),
        sa.Column("last_job_id", sa.String(40), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Index("ix_scrape_schedules_enabled_next_run", "enabled", "next_run"),
    )
    sa.Table(
        "scrape_schedule_seen", md,
        sa.Column("schedule_id", sa.String(40), sa.ForeignKey("scrape_schedules.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
    )
    md.create_all(conn)


def _m009_queued_jobs_per_account(conn: Connection) -> None:
    """An account's queued jobs found without reading its finished ones (the backlog bound at job creation)."""
    jobs = sa.Table("jobs", sa.MetaData(), sa.Column("account_id", sa.String(40)), sa.Column("status", sa.String(20)))
    sa.Index("ix_jobs_account_status", jobs.c.account_id, jobs.c.status).create(conn)


def _m010_usage_meter_and_account_settings(conn: Connection) -> None:
    """Storage metered over time (byte-seconds per account and day, seeded with what each account stores
    now), the API key behind each ledger row, and account settings an admin changes at run time."""
    md = sa.MetaData()
    ts = sa.DateTime(timezone=True)
    days = sa.Table(
        "storage_days", md,
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("byte_seconds", sa.Float, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
    )
    sa.Table(
        "account_settings", md,
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("updated_by", sa.String(40), nullable=True),
    )
    md.create_all(conn)
    conn.execute(sa.text("ALTER TABLE usage_events ADD COLUMN key_id VARCHAR(40)"))
    moment = datetime.now(UTC)
    stored = conn.execute(sa.text("SELECT account_id, SUM(size) FROM assets GROUP BY account_id")).all()
    if stored:
        conn.execute(days.insert(), [
            {"account_id": account_id, "day": moment.date().isoformat(), "bytes": int(total or 0),
             "byte_seconds": 0.0, "since": moment.timestamp()} for account_id, total in stored])


def _m011_users_sessions_scoped_keys(conn: Connection) -> None:
    """People inside an account: teams, users with a role and an argon2 password hash, login sessions (stored
    hashed, expiring). Keys belong to a user and may carry scopes, a credit limit and an expiry; ledger rows
    name the key that spent them; saved pipelines name the user who owns them."""
    ts = sa.DateTime(timezone=True)
    md = sa.MetaData()
    accounts = sa.Table("accounts", md, sa.Column("id", sa.String(40), primary_key=True))  # exists: for the keys
    sa.Table(
        "teams", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_teams_account_name"),
    )
    sa.Table(
        "users", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False, index=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("team_id", sa.String(40), sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    sa.Table(
        "sessions", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False, index=True),
    )
    md.create_all(conn, tables=[table for table in md.sorted_tables if table is not accounts])
    for statement in (
        "ALTER TABLE api_keys ADD COLUMN user_id VARCHAR(40)",
        "ALTER TABLE api_keys ADD COLUMN scopes JSON",
        "ALTER TABLE api_keys ADD COLUMN credit_limit_micros BIGINT",
        "ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP WITH TIME ZONE",
        "ALTER TABLE pipelines ADD COLUMN user_id VARCHAR(40)",
        "CREATE INDEX ix_api_keys_user_id ON api_keys (user_id)",
    ):
        conn.execute(sa.text(statement))
    # The ledger's key column may come from another migration too (usage by key): whichever runs first adds it.
    inspector = sa.inspect(conn)
    if "key_id" not in {column["name"] for column in inspector.get_columns("usage_events")}:
        conn.execute(sa.text("ALTER TABLE usage_events ADD COLUMN key_id VARCHAR(40)"))
    if "ix_usage_events_key_id" not in {index["name"] for index in inspector.get_indexes("usage_events")}:
        conn.execute(sa.text("CREATE INDEX ix_usage_events_key_id ON usage_events (key_id)"))


def _m012_media_library(conn: Connection) -> None:
    """The media library: an asset's folder, trash time and current version number; folders (a tree),
    collections (ordered, an asset in many), earlier versions of an asset's file (each holds its blob), and
    share links."""
    ts = sa.DateTime(timezone=True)
    for column in (sa.Column("folder_id", sa.String(40), nullable=True),
                   sa.Column("trashed_at", ts, nullable=True)):
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE assets ADD COLUMN {column.name} {kind}"))
    conn.execute(sa.text("ALTER TABLE assets ADD COLUMN version INTEGER NOT NULL DEFAULT 1"))
    md = sa.MetaData()
    assets = sa.Table("assets", md, sa.Column("id", sa.String(40), primary_key=True),
                      sa.Column("account_id", sa.String(40)), sa.Column("folder_id", sa.String(40)),
                      sa.Column("trashed_at", ts))
    sa.Index("ix_assets_account_trashed", assets.c.account_id, assets.c.trashed_at).create(conn)
    sa.Index("ix_assets_folder", assets.c.folder_id).create(conn)
    sa.Table(
        "folders", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(40), sa.ForeignKey("folders.id", ondelete="CASCADE"), nullable=True),
        sa.Column("created_at", ts, nullable=False),
    )
    sa.Table(
        "collections", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    sa.Table(
        "collection_assets", md,
        sa.Column("collection_id", sa.String(40), sa.ForeignKey("collections.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("asset_id", sa.String(40), sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
                  index=True),
        sa.Column("position", sa.Float, nullable=False),
    )
    sa.Table(
        "asset_versions", md,
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
        sa.Column("created_at", ts, nullable=False),
    )
    sa.Table(
        "shares", md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), nullable=False, index=True),
        sa.Column("target_type", sa.String(20), nullable=False),
        sa.Column("target_id", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=True),
        sa.Column("expires_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False),
    )
    md.create_all(conn, tables=[md.tables[name] for name in
                                ("folders", "collections", "collection_assets", "asset_versions", "shares")])


MIGRATIONS: list[tuple[str, Migration]] = [
    ("initial", _m001_initial),
    ("uploads_and_size_index", _m002_uploads_and_size_index),
    ("resumable_upload_state", _m003_resumable_upload_state),
    ("distributed_jobs", _m004_distributed_jobs),
    ("taken_at", _m005_taken_at),
    ("asset_cost_totals", _m006_asset_cost_totals),
    ("saved_pipelines", _m007_saved_pipelines),
    ("scrape_schedules", _m008_scrape_schedules),
    ("queued_jobs_per_account", _m009_queued_jobs_per_account),
    ("usage_meter_and_account_settings", _m010_usage_meter_and_account_settings),
    ("users_sessions_scoped_keys", _m011_users_sessions_scoped_keys),
    ("media_library", _m012_media_library),
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
