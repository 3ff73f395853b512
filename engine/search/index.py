"""The LanceDB tables behind search: one per account, each with filter columns, a native full-text index
and two vector columns.

An account's rows live in their own table (``<prefix>-<account id>``), so a query never filters by
account: the account is where it looks, not a predicate over everyone's rows. That keeps isolation
structural and lets each account's vector index answer on its own (an account prefilter over a shared
table cost ~28 ms per vector query at a million rows).

Everything goes through LanceDB's async API, awaited on the caller's event loop: its synchronous wrapper
costs a few round trips to a background loop per call (a trivial query took 2.7 ms that way, 1 ms
awaited directly), and the three paths of a hybrid query run side by side without threads.

Rows without a vector carry zeros and ``has_*_vec = false``, and vector queries filter on that flag, so
an asset is findable by its words the moment it is uploaded and by meaning once its job has run.
Writes go through one lock; each write adds a small fragment, so ``maintain`` (compaction, index
refresh and, past a size threshold, the ANN vector indexes) runs in the background every few writes.

Several processes (``picsha serve`` and ``picsha worker`` on several machines) may write the same tables,
on S3 or in a shared folder. Lance commits each version with a put-if-absent of its manifest, so two
writers never both take one version; a write that still fails on a conflict is tried again
(``engine.search.commits``). ``id`` is the tables' (unenforced) primary key: Lance then records the keys a
``merge_insert`` inserted, so two processes inserting the same new id conflict and one retries as an update
instead of both adding a row. Reads in one process see another's writes within ``read_consistency_s``.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from engine.search.commits import with_conflict_retries
from engine.search.models import IndexRow
from engine.search.settings import SearchSettings
from engine.search.vector_plan import VectorIndexPlan, needs_rebuild, parse_name, plan_for

log = logging.getLogger("picsha.search.index")

TEXT_DIM = 384
WRITES_PER_MAINTENANCE = 64
MIN_FILTERED_EF = 200
SHARE_TTL_S = 5.0  # how long the share of rows a filter keeps is reused (it only sets a search breadth)
LAYOUT_TTL_S = 30.0  # how long a process trusts the vector index layout it read (another may rebuild it)
ROW_COLUMNS = ["id", "account_id", "type", "status", "created_us", "taken_us", "taken_tz", "filename", "tags",
               "has_thumbnail", "place"]
# Columns added after tables were first made, with the SQL that fills them in an older table (its rows then
# read as taken when uploaded until the catalog's taken times are written over them: ``on_upgrade``).
ADDED_COLUMNS = {"taken_us": "created_us", "taken_tz": "CAST(NULL AS INT)"}
_SAFE_NAME = re.compile(r"[A-Za-z0-9_]{1,96}")
PRIMARY_KEY = "lance-schema:unenforced-primary-key"


def _scalar_indexes() -> dict[str, Any]:
    """Column -> index every account table keeps beside full text and vectors. The vector flags' bitmaps
    serve a filtered vector query's row mask, where the flag joins the filter: scanning the flag column instead
    took ~35 ms of a date-filtered CLIP query on a million rows (78 ms against 42 with the bitmap)."""
    from lancedb.index import FTS, Bitmap, BTree, LabelList

    return {"text": FTS(with_position=False), "id": BTree(), "created_us": BTree(), "taken_us": BTree(),
            "type": Bitmap(), "status": Bitmap(), "tags": LabelList(),
            "has_text_vec": Bitmap(), "has_clip_vec": Bitmap()}


def _newest_first() -> list[Any]:
    from lancedb.query import ColumnOrdering

    return [ColumnOrdering(column_name="created_us", ascending=False), ColumnOrdering(column_name="id")]


def schema(clip_dim: int) -> pa.Schema:
    return pa.schema([
        pa.field("id", pa.string(), nullable=False, metadata={PRIMARY_KEY: "true"}),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("type", pa.string()),
        pa.field("status", pa.string()),
        pa.field("created_us", pa.int64()),  # uploaded, microseconds since the epoch (UTC)
        # taken: the wall clock where it was taken, written as if UTC (engine.assets.taken), and that
        # place's UTC offset in minutes when known
        pa.field("taken_us", pa.int64()),
        pa.field("taken_tz", pa.int32()),
        pa.field("filename", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("place", pa.string()),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("has_thumbnail", pa.bool_()),
        pa.field("text", pa.string()),
        pa.field("has_text_vec", pa.bool_()),
        pa.field("text_vec", pa.list_(pa.float32(), TEXT_DIM)),
        pa.field("has_clip_vec", pa.bool_()),
        pa.field("clip_vec", pa.list_(pa.float32(), clip_dim)),
    ])


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def quote(value: str) -> str:
    """A SQL string literal for LanceDB filters (single quotes doubled, so input cannot end the literal)."""
    return "'" + value.replace("'", "''") + "'"


class _Write(enum.Enum):
    """How a written row meets the one already indexed for its asset."""

    REPLACE = "replace"
    KEEP_VECTORS = "keep_vectors"  # a vector the row leaves None keeps the stored one
    IF_ABSENT = "if_absent"  # a new asset's row that another writer may have indexed first: only where none is
    APPEND = "append"  # a new asset's row that nothing else can have indexed: appended, no lookup at all


_Waiting = tuple[IndexRow, _Write, Any, "asyncio.Future[None]"]


def _id_in(ids: list[str]) -> str:
    return "id IN (" + ", ".join(quote(i) for i in ids) + ")"


def _and(*parts: str | None) -> str | None:
    present = [f"({part})" for part in parts if part]
    return " AND ".join(present) or None


async def has_primary_key(table: Any) -> bool:
    metadata = (await table.schema()).field("id").metadata or {}
    return any(key.startswith(PRIMARY_KEY.encode()) for key in metadata)


class SearchIndex:
    """Open with ``await SearchIndex.open(...)``."""

    def __init__(self, db: Any, prefix: str, *, clip_dim: int, vector_index_threshold: int, search_ef: int,
                 settings: SearchSettings | None = None):
        self.db = db
        self.settings = settings or SearchSettings()
        self.prefix = prefix
        self.clip_dim = clip_dim
        self.vector_index_threshold = vector_index_threshold
        self.search_ef = search_ef
        self.schema = schema(clip_dim)
        self._write_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._tables: dict[str, Any] = {}
        self._pending: Counter[str] = Counter()  # writes since the last maintenance, per account
        self._waiting: list[_Waiting] = []  # upserts for the next write
        self._writer: asyncio.Task[None] | None = None
        # table name -> (when read, column -> the layout of its vector index), see vector_plan
        self._layouts: dict[str, tuple[float, dict[str, VectorIndexPlan]]] = {}
        self._builds: dict[str, asyncio.Task[None]] = {}  # table name -> its vector index (re)build, one at a time
        self._shares: dict[tuple[str, str], tuple[float, asyncio.Future[float]]] = {}  # (account, where) -> share
        # Called with an account id once its table was given the ADDED_COLUMNS: the caller writes the true
        # values over the defaults (the engine: the catalog's taken times).
        self.on_upgrade: Callable[[str], Awaitable[None]] | None = None

    @classmethod
    async def open(cls, uri: str, prefix: str, *, clip_dim: int = 512, vector_index_threshold: int = 2_000,
                   search_ef: int = 1_000, storage_options: dict[str, str] | None = None,
                   read_consistency_s: float | None = None, settings: SearchSettings | None = None) -> SearchIndex:
        """``storage_options`` go to LanceDB's object store (S3 endpoint, region, keys); ``read_consistency_s``
        is how old an open table's version may get before a read looks for newer ones (``None``: never);
        ``settings`` give the vector index layout by table size (``vector_plan``)."""
        import lancedb

        interval = None if read_consistency_s is None else timedelta(seconds=read_consistency_s)
        db = await lancedb.connect_async(uri, storage_options=storage_options or None,
                                         read_consistency_interval=interval)
        index = cls(db, prefix, clip_dim=clip_dim, vector_index_threshold=vector_index_threshold, search_ef=search_ef,
                    settings=settings)
        await index._split_shared_table()
        return index

    # -- tables ----------------------------------------------------------------------------------

    def table_name(self, account_id: str) -> str:
        """LanceDB names allow letters, digits, ``_-.``; an id outside that (none Picsha makes) is hashed."""
        if _SAFE_NAME.fullmatch(account_id):
            return f"{self.prefix}-{account_id}"
        return f"{self.prefix}-h{hashlib.sha256(account_id.encode()).hexdigest()[:40]}"

    async def _table_names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            page = await self.db.list_tables(page_token=token, limit=1000)
            names += page.tables
            token = page.page_token
            if not token:
                return names

    async def account_tables(self) -> list[str]:
        return [name for name in await self._table_names() if name.startswith(f"{self.prefix}-")]

    async def table_for(self, account_id: str, *, create: bool = False) -> Any | None:
        """The account's table (opened once and kept); ``None`` when it has none and ``create`` is off."""
        name = self.table_name(account_id)
        table = self._tables.get(name)
        if table is not None:
            return table
        upgraded = False
        async with self._open_lock:
            if name not in self._tables:
                if name in await self._table_names():
                    table, upgraded = await self._upgraded(await self._keyed(await self.db.open_table(name)), name)
                    self._tables[name] = table
                elif create:
                    self._tables[name] = await self._create(name)
                else:
                    return None
            table = self._tables[name]
        if upgraded and self.on_upgrade is not None:
            try:
                await self.on_upgrade(account_id)
            except Exception:  # the defaults stand (taken = uploaded) until a reindex
                log.exception("search index %s: filling the added columns failed; `picsha reindex` fills them", name)
        return table

    async def _create(self, name: str) -> Any:
        table = await self._keyed(await self.db.create_table(name, schema=self.schema, exist_ok=True))
        await self._add_missing_indexes(table, name)
        return table

    async def _add_missing_indexes(self, table: Any, name: str) -> None:
        """The scalar indexes ``table`` lacks: all of them for a new table, and for one made by an older
        version those added since (the vector flags' bitmaps at its next maintenance, ``taken_us`` with its
        column); each takes well under a second on a million rows."""
        present = {column for config in await table.list_indices() for column in config.columns}
        for column, config in _scalar_indexes().items():
            if column not in present:
                # Another process may be creating the same table and indexes: a lost race is retried.
                await with_conflict_retries(functools.partial(table.create_index, column, config=config, replace=True),
                                            table=table, what=f"{name}: index on {column}")

    async def _keyed(self, table: Any) -> Any:
        """``table`` with ``id`` declared its primary key (tables made before it was are given it once)."""
        if await has_primary_key(table):
            return table
        try:
            await with_conflict_retries(functools.partial(table.set_unenforced_primary_key, "id"), table=table,
                                        what="primary key")
        except ValueError:
            # Declared meanwhile by another process (it cannot be changed once set); anything else is real.
            await table.checkout_latest()
            if not await has_primary_key(table):
                raise
        return table

    async def _upgraded(self, table: Any, name: str) -> tuple[Any, bool]:
        """``table`` with the columns added since it was made (and whether any were), so tables written by
        an older version keep working without a rebuild."""
        present = set((await table.schema()).names)
        missing = {column: fill for column, fill in ADDED_COLUMNS.items() if column not in present}
        if not missing:
            return table, False
        log.warning("search index %s: adding columns %s", name, ", ".join(missing))
        try:
            await with_conflict_retries(functools.partial(table.add_columns, missing), table=table, what="add columns")
        except Exception:
            # Another process added them meanwhile (a second add is refused); anything else is real.
            await table.checkout_latest()
            if not set(missing) <= set((await table.schema()).names):
                raise
            return table, False
        await self._add_missing_indexes(table, name)
        return table, True

    async def set_taken(self, account_id: str, taken: list[tuple[str, datetime, int | None]]) -> None:
        """Write (asset id, taken wall clock, offset minutes) over rows already indexed; unknown ids are skipped."""
        table = await self.table_for(account_id)
        if table is None or not taken:
            return
        data = pa.Table.from_pylist(
            [{"id": i, "taken_us": to_micros(t), "taken_tz": o} for i, t, o in taken],
            schema=pa.schema([self.schema.field(name) for name in ("id", "taken_us", "taken_tz")]))  # id: the key
        async with self._write_lock:
            await with_conflict_retries(lambda: table.merge_insert("id").when_matched_update_all().execute(data),
                                        table=table, what="taken times")
            self._pending[account_id] += 1

    async def reset(self) -> None:
        """No tables at all (a rebuild starts here)."""
        async with self._write_lock, self._open_lock:
            names = await self._table_names()
            for name in [n for n in names if n.startswith(f"{self.prefix}-") or n == self.prefix]:
                await self.db.drop_table(name, ignore_missing=True)
            self._tables.clear()
            self._pending.clear()

    async def _split_shared_table(self) -> None:
        """An index written before tables were per account (one table named ``prefix``) is moved over once."""
        if self.prefix not in await self._table_names():
            return
        shared = await self.db.open_table(self.prefix)
        total = await shared.count_rows()
        log.warning("moving %d search rows from the shared table %r to one table per account", total, self.prefix)
        if total:
            present = set((await shared.schema()).names)
            batches = await shared.query().select([n for n in self.schema.names if n in present]).to_batches(
                max_batch_length=10_000)
            async for batch in batches:
                records = pa.Table.from_batches([batch]).to_pylist()
                for record in records:  # a shared table predates the taken columns: taken when uploaded
                    record.setdefault("taken_us", record["created_us"])
                await self.add_many(records)
        await self.maintain()
        await self.db.drop_table(self.prefix, ignore_missing=True)

    # -- writing ---------------------------------------------------------------------------------

    def to_record(self, row: IndexRow, keep: dict[str, Any] | None) -> dict[str, Any]:
        text_vec = row.text_vec if row.text_vec is not None else (keep or {}).get("text_vec")
        clip_vec = row.clip_vec if row.clip_vec is not None else (keep or {}).get("clip_vec")
        return {
            "id": row.id, "account_id": row.account_id, "type": row.type, "status": row.status,
            "created_us": to_micros(row.created_at), "filename": row.filename, "tags": [t.lower() for t in row.tags],
            "taken_us": to_micros(row.taken_at or row.created_at),
            "taken_tz": row.taken_offset if row.taken_at else 0,
            "place": row.place, "lat": row.lat, "lon": row.lon, "has_thumbnail": row.has_thumbnail,
            "text": row.text, "has_text_vec": text_vec is not None,
            "text_vec": list(text_vec) if text_vec is not None else [0.0] * TEXT_DIM,
            "has_clip_vec": clip_vec is not None,
            "clip_vec": list(clip_vec) if clip_vec is not None else [0.0] * self.clip_dim,
        }

    async def stored_vectors(self, account_id: str, asset_id: str) -> dict[str, Any]:
        """The vectors indexed for an asset (``None`` where it has none); empty when it has no row."""
        table = await self.table_for(account_id)
        if table is None:
            return {}
        found = await (table.query().where(f"id = {quote(asset_id)}")
                       .select(["has_text_vec", "text_vec", "has_clip_vec", "clip_vec"]).limit(1).to_list())
        if not found:
            return {}
        row = found[0]
        return {"text_vec": row["text_vec"] if row["has_text_vec"] else None,
                "clip_vec": row["clip_vec"] if row["has_clip_vec"] else None}

    async def upsert(self, row: IndexRow, *, keep_vectors: bool = True) -> None:
        """Insert or replace one asset; a vector left ``None`` keeps the one already indexed.

        Upserts that arrive while another is being written wait for the next write and go in it together (one
        ``merge_insert`` per account): a commit costs the same for one row as for many, so a bulk ingest does
        not pay one per asset."""
        await self.upsert_many([row], keep_vectors=keep_vectors)

    async def upsert_many(self, rows: list[IndexRow], *, keep_vectors: bool = True) -> None:
        """``upsert`` for many rows at once: they go in the same write."""
        await self._queue([(row, _Write.KEEP_VECTORS if keep_vectors and (row.text_vec is None or row.clip_vec is None)
                            else _Write.REPLACE) for row in rows])

    async def insert_new(self, rows: list[IndexRow], *, contested: Collection[str] = ()) -> None:
        """Rows of assets just created, in the same write. A row whose asset id is in ``contested`` (an analysis
        job was queued for it, which a worker may finish and index first) is written only where none is
        indexed yet, so the analysis's fuller row stands; the others cannot have a row yet and are appended,
        with no lookup of existing rows, which on a table with many fragments since its last compaction costs
        more than the write itself."""
        await self._queue([(row, _Write.IF_ABSENT if row.id in contested else _Write.APPEND) for row in rows])

    async def _queue(self, writes: list[tuple[IndexRow, _Write]]) -> None:
        for row, _mode in writes:
            if row.clip_vec is not None and len(row.clip_vec) != self.clip_dim:
                raise ValueError(f"CLIP vectors here have {self.clip_dim} dimensions, got {len(row.clip_vec)}")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        for row, mode in writes:
            table = await self.table_for(row.account_id, create=True)
            written: asyncio.Future[None] = loop.create_future()
            self._waiting.append((row, mode, table, written))
            futures.append(written)
        if not futures:
            return
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting(), name="picsha-index-upserts")
        await asyncio.shield(asyncio.gather(*futures))  # a caller that stops waiting does not stop the others' write

    async def _write_waiting(self) -> None:
        async with self._write_lock:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                by_account: dict[str, list[_Waiting]] = {}
                for item in batch:
                    by_account.setdefault(item[0].account_id, []).append(item)
                for account_id, items in by_account.items():
                    await self._write_upserts(account_id, items)

    async def _write_upserts(self, account_id: str, items: list[_Waiting]) -> None:
        table = items[0][2]
        latest = {row.id: (row, mode) for row, mode, _table, _done in items}  # one asset twice: the last wins
        appended = [row for row, mode in latest.values() if mode is _Write.APPEND]
        absent = [row for row, mode in latest.values() if mode is _Write.IF_ABSENT]
        merged = {asset_id: (row, mode) for asset_id, (row, mode) in latest.items()
                  if mode in (_Write.KEEP_VECTORS, _Write.REPLACE)}

        def records(rows: list[tuple[IndexRow, dict[str, Any] | None]]) -> pa.Table:
            return pa.Table.from_pylist([self.to_record(row, keep) for row, keep in rows], schema=self.schema)

        async def merge() -> None:
            if absent:
                await (table.merge_insert("id").when_not_matched_insert_all()
                       .execute(records([(row, None) for row in absent])))
            if not merged:
                return
            keep_ids = [asset_id for asset_id, (_row, mode) in merged.items() if mode is _Write.KEEP_VECTORS]
            kept: dict[str, dict[str, Any]] = {}
            if keep_ids:
                await table.checkout_latest()  # the vectors kept are the latest, whichever process wrote them
                kept = await self._stored_vectors_of(table, keep_ids)
            await (table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
                   .execute(records([(row, kept.get(asset_id, {}) if mode is _Write.KEEP_VECTORS else None)
                                     for asset_id, (row, mode) in merged.items()])))

        try:
            # Each step is retried alone: an append that committed must not run again with a later step.
            if appended:
                await with_conflict_retries(functools.partial(table.add, records([(row, None) for row in appended])),
                                            table=table, what=f"append {len(appended)} rows")
            if absent or merged:
                await with_conflict_retries(merge, table=table, what=f"upsert {len(latest)} rows")
        except Exception as error:
            for *_rest, done in items:
                if not done.done():
                    done.set_exception(error)
            return
        self._pending[account_id] += len(latest)
        for *_rest, done in items:
            if not done.done():
                done.set_result(None)

    async def _stored_vectors_of(self, table: Any, asset_ids: list[str]) -> dict[str, dict[str, Any]]:
        found = await (table.query().where(_id_in(asset_ids))
                       .select(["id", "has_text_vec", "text_vec", "has_clip_vec", "clip_vec"])
                       .limit(len(asset_ids)).to_list())
        return {row["id"]: {"text_vec": row["text_vec"] if row["has_text_vec"] else None,
                            "clip_vec": row["clip_vec"] if row["has_clip_vec"] else None} for row in found}

    async def add_many(self, records: list[dict[str, Any]]) -> None:
        """Bulk append of ready-made records, any mix of accounts (rebuilds and benchmarks)."""
        by_account: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_account.setdefault(record["account_id"], []).append(record)
        for account_id, rows in by_account.items():
            table = await self.table_for(account_id, create=True)
            add = functools.partial(table.add, pa.Table.from_pylist(rows, schema=self.schema))
            async with self._write_lock:
                await with_conflict_retries(add, table=table, what="add")
                self._pending[account_id] += len(rows)

    async def delete(self, account_id: str, asset_ids: list[str]) -> None:
        table = await self.table_for(account_id)
        if not asset_ids or table is None:
            return
        async with self._write_lock:
            await with_conflict_retries(lambda: table.delete(_id_in(asset_ids)), table=table, what="delete")
            self._pending[account_id] += 1

    def needs_maintenance(self) -> bool:
        return sum(self._pending.values()) >= WRITES_PER_MAINTENANCE

    async def maintain(self, *, wait_for_builds: bool = True) -> None:
        """For each account written since last time: compact fragments, fold new rows into the indexes, and
        build (or rebuild, once the table has outgrown it) the ANN index of each vector column.

        A vector index build runs as its own task, outside the write lock: writes and queries go on (rows
        added meanwhile are searched exactly until the next optimize folds them in), and other accounts'
        maintenance does not wait for it. ``wait_for_builds`` off (the server's background maintenance)
        returns without waiting for builds to end; a table being built is not compacted meanwhile (a
        compaction committed under a build would make the build's commit conflict and start over), its
        writes count toward the next maintenance instead."""
        async with self._write_lock:
            accounts, self._pending = list(self._pending), Counter()
        for account_id in accounts:
            table = await self.table_for(account_id)
            if table is None:
                continue
            name = self.table_name(account_id)
            running = self._builds.get(name)
            if running is not None and not running.done():
                self._pending[account_id] += 1
                continue
            async with self._write_lock:
                # Another process compacting the same table at the same time makes one of the two retry.
                await with_conflict_retries(table.optimize, table=table, what=f"optimize {account_id}")
                await self._add_missing_indexes(table, name)
            builds = await self._vector_builds(table)
            if builds:
                self._builds[name] = asyncio.create_task(self._build(name, table, builds),
                                                         name=f"picsha-vector-index-{name}")
        if wait_for_builds:
            await self.wait_for_builds()

    async def wait_for_builds(self) -> None:
        """Until every vector index build started so far has ended (a failed one is logged, not raised)."""
        running = [task for task in self._builds.values() if not task.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    async def _vector_builds(self, table: Any) -> list[tuple[str, VectorIndexPlan, VectorIndexPlan | None]]:
        """(column, plan to build, layout it replaces) for each vector column that needs an index now."""
        layout = await self._read_layout(table)
        wanted = []
        for column, flag in (("text_vec", "has_text_vec"), ("clip_vec", "has_clip_vec")):
            # Counted per column: without CLIP weights no row has a CLIP vector, and none is needed.
            current = layout.get(column)
            rows = await table.count_rows(flag)
            if current is None and rows < self.vector_index_threshold:
                continue
            if current is None or needs_rebuild(current, rows, self.settings):
                wanted.append((column, plan_for(rows, self.settings), current))
        return wanted

    async def _build(self, name: str, table: Any,
                     builds: list[tuple[str, VectorIndexPlan, VectorIndexPlan | None]]) -> None:
        for column, plan, current in builds:
            started = time.perf_counter()
            try:
                build = functools.partial(table.create_index, column, config=plan.config(), name=plan.name(column),
                                          replace=True)
                await with_conflict_retries(build, table=table, what=f"vector index on {column}")
                if current is not None and current.name(column) != plan.name(column):
                    # Until this drop both indexes answer (LanceDB uses either); then only the new one.
                    await table.drop_index(current.name(column))
            except Exception:  # the table stays searchable (exactly, or by the previous index)
                log.exception("search index %s: building the vector index on %s failed", name, column)
                continue
            finally:
                self._layouts.pop(name, None)
            log.info("search index %s: vector index %s built in %.0f s", name, plan.name(column),
                     time.perf_counter() - started)

    async def _read_layout(self, table: Any) -> dict[str, VectorIndexPlan]:
        layout: dict[str, VectorIndexPlan] = {}
        for config in await table.list_indices():
            parsed = parse_name(config.name)
            if parsed is not None:
                column, plan = parsed
                # A leftover of a rebuild cut short: the split index is the newer one.
                if column not in layout or (plan.partitions or 0) > (layout[column].partitions or 0):
                    layout[column] = plan
        return layout

    async def _layout(self, name: str, table: Any) -> dict[str, VectorIndexPlan]:
        """The vector index layout of a table, read again once it is ``LAYOUT_TTL_S`` old."""
        cached = self._layouts.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < LAYOUT_TTL_S:
            return cached[1]
        layout = await self._read_layout(table)
        self._layouts[name] = (now, layout)
        return layout

    # -- reading (every query names its account) -------------------------------------------------

    async def full_text(self, account_id: str, query: str, where: str | None, limit: int) -> list[tuple[str, float]]:
        table = await self.table_for(account_id)
        if table is None:
            return []
        search = table.query().nearest_to_text(query, columns="text")
        if where:
            search = search.where(where)
        rows = await search.select(["id", "_score"]).limit(limit).to_list()
        return [(row["id"], float(row["_score"])) for row in rows]

    async def nearest(self, account_id: str, column: str, vector: np.ndarray, where: str | None, limit: int,
                      min_similarity: float) -> list[tuple[str, float]]:
        table = await self.table_for(account_id)
        if table is None:
            return []
        share = await self._share(account_id, table, where) if where else 1.0
        if not share:
            return []
        plan = (await self._layout(self.table_name(account_id), table)).get(column)
        split = plan is not None and plan.partitions is not None
        query = table.vector_search(vector.astype(np.float32)).column(column).distance_type("cosine")
        if where:
            # The flag joins the filter's row mask: a filter that keeps mostly rows without the vector (documents
            # on the CLIP path) would otherwise send the graph walk looking for rows that are not in it.
            query = query.where(_and(where, "has_text_vec" if column == "text_vec" else "has_clip_vec"))
        # With no filter no flag is checked at all: a row without the vector holds zeros, which have no cosine
        # distance, so LanceDB leaves them out of the index and of its exact search of rows not yet indexed
        # (tests/engine/search/test_index_search.py). Checking it cost a read per hit (~6 ms a query on a
        # million rows), or, as a row mask, ~25 ms.
        query = query.select(["id", "_distance"]).limit(limit)
        if split:
            # A split index: a few partitions, each a small graph (vector_plan).
            query = query.nprobes(self._probes(share, plan.partitions)).ef(
                self._breadth(share, limit, self.settings.vector_search_partition_ef))
        else:
            query = query.ef(self._breadth(share, limit))
        hits = [(row["id"], 1.0 - float(row["_distance"])) for row in await query.to_list()]
        return [(asset_id, similarity) for asset_id, similarity in hits if similarity >= min_similarity]

    async def _share(self, account_id: str, table: Any, where: str) -> float:
        """The share of the account's rows ``where`` keeps. Counted once for the vector paths of one query
        (they ask at the same moment) and kept ``SHARE_TTL_S``: on a million rows a count under a date filter
        took ~20 ms, and only its order of magnitude matters here."""
        key = (account_id, where)
        now = time.monotonic()
        cached = self._shares.get(key)
        if cached is None or now - cached[0] > SHARE_TTL_S:
            async def count() -> float:
                return await table.count_rows(where) / max(await table.count_rows(), 1)

            if len(self._shares) > 1_000:
                self._shares.clear()
            cached = (now, asyncio.ensure_future(count()))
            self._shares[key] = cached
        try:
            share = await asyncio.shield(cached[1])
        except Exception:
            self._shares.pop(key, None)
            raise
        if not share:  # none yet: the next query counts again, so a row written meanwhile is found at once
            self._shares.pop(key, None)
        return share

    def _probes(self, share: float, partitions: int) -> int:
        """Partitions of a split index a query searches. A filter's rows are spread over every partition, so the
        nearest rows it keeps lie farther out than the nearest of all: the probes grow with 1 / sqrt(share) (at
        4% of 200,000 rows, 8 of 20 partitions found 0.72 of the filtered top 10, all 20 found 0.99)."""
        return min(partitions, math.ceil(self.settings.vector_search_nprobes / math.sqrt(max(share, 1e-6))))

    def _breadth(self, share: float, limit: int, base: int | None = None) -> int:
        """HNSW breadth (ef) for a query whose filter keeps ``share`` of the rows; never below ``limit``, which
        LanceDB refuses. The graph walk skips rows the filter drops, so it visits about ef / share nodes,
        while the rows left need a breadth in proportion to their number: scaling ef by the share keeps
        recall at about the unfiltered level for about the unfiltered cost (with ef 1,000 at 10% of a
        20,000-row account, a query took 2.5x as long for no gain in recall)."""
        ef = base or self.search_ef
        scaled = ef if share >= 1.0 else max(min(MIN_FILTERED_EF, ef), math.ceil(ef * share))
        return max(limit, min(ef, scaled))

    async def rows(self, account_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        table = await self.table_for(account_id)
        if not ids or table is None:
            return {}
        found = await (table.query().where(_id_in(ids))
                       .select(ROW_COLUMNS).limit(len(ids)).to_list())
        return {row["id"]: row for row in found}

    async def filtered_rows(self, account_id: str, where: str | None, *, limit: int, offset: int = 0,
                            columns: list[str] = ROW_COLUMNS) -> list[dict[str, Any]]:
        """Filter-only search (no words): one page of rows, newest first (ties by id). LanceDB sorts with a
        top-k of ``offset + limit`` and skips the offset itself, so only the page reaches Python."""
        table = await self.table_for(account_id)
        if table is None or limit <= 0:
            return []
        search = table.query()
        if where:
            search = search.where(where)
        # The sort columns are always read: LanceDB 0.40 cannot plan a sorted scan that leaves them out
        # ("TakeExec requires ... '_rowid'") unless a scalar index answers the filter.
        wanted = list(dict.fromkeys([*columns, "created_us", "id"]))
        return await search.order_by(_newest_first()).offset(offset).limit(limit).select(wanted).to_list()

    async def filtered(self, account_id: str, where: str | None, limit: int, *, offset: int = 0) -> list[str]:
        """The ids of :meth:`filtered_rows`."""
        rows = await self.filtered_rows(account_id, where, limit=limit, offset=offset, columns=["id"])
        return [row["id"] for row in rows]

    async def count(self, account_id: str, where: str | None = None) -> int:
        table = await self.table_for(account_id)
        return 0 if table is None else await table.count_rows(where)

    async def count_all(self, where: str | None = None) -> int:
        """Rows across every account (operators and tests)."""
        total = 0
        for name in await self.account_tables():
            total += await (await self.db.open_table(name)).count_rows(where)
        return total
