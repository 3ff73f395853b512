"""The LanceDB table behind search: filter columns, a native full-text index and two vector columns.

Rows without a vector carry zeros and ``has_*_vec = false``, and vector queries filter on that flag, so
an asset is findable by its words the moment it is uploaded and by meaning once its job has run.
Writes go through one lock; each write adds a small fragment, so ``maintain`` (compaction, index
refresh and, past a size threshold, the ANN vector index) runs in the background every few writes.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from engine.search.models import IndexRow

log = logging.getLogger("picsha.search.index")

TEXT_DIM = 384
WRITES_PER_MAINTENANCE = 64


def schema(clip_dim: int) -> pa.Schema:
    return pa.schema([
        pa.field("id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("type", pa.string()),
        pa.field("status", pa.string()),
        pa.field("created_us", pa.int64()),
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


class SearchIndex:
    def __init__(self, uri: str, table: str, *, clip_dim: int = 512, vector_index_threshold: int = 100_000):
        import lancedb

        self.db = lancedb.connect(uri)
        self.clip_dim = clip_dim
        self.vector_index_threshold = vector_index_threshold
        self._write_lock = threading.Lock()
        self._writes = 0
        self.name = table
        self.table = self._open(table)

    def reset(self) -> None:
        """An empty table with all its indexes (a rebuild starts here)."""
        with self._write_lock:
            self.db.drop_table(self.name, ignore_missing=True)
            self.table = self._open(self.name)

    def _open(self, name: str) -> Any:
        from lancedb.index import FTS, Bitmap, BTree, LabelList

        if name in self.db.list_tables().tables:
            return self.db.open_table(name)
        table = self.db.create_table(name, schema=schema(self.clip_dim), exist_ok=True)
        table.create_index("text", config=FTS(with_position=False), replace=True)
        for column, config in (("account_id", BTree()), ("created_us", BTree()), ("type", Bitmap()),
                               ("status", Bitmap()), ("tags", LabelList())):
            table.create_index(column, config=config, replace=True)
        return table

    # -- writing ---------------------------------------------------------------------------------

    def to_record(self, row: IndexRow, keep: dict[str, Any] | None) -> dict[str, Any]:
        text_vec = row.text_vec if row.text_vec is not None else (keep or {}).get("text_vec")
        clip_vec = row.clip_vec if row.clip_vec is not None else (keep or {}).get("clip_vec")
        return {
            "id": row.id, "account_id": row.account_id, "type": row.type, "status": row.status,
            "created_us": to_micros(row.created_at), "filename": row.filename, "tags": [t.lower() for t in row.tags],
            "place": row.place, "lat": row.lat, "lon": row.lon, "has_thumbnail": row.has_thumbnail,
            "text": row.text, "has_text_vec": text_vec is not None,
            "text_vec": list(text_vec) if text_vec is not None else [0.0] * TEXT_DIM,
            "has_clip_vec": clip_vec is not None,
            "clip_vec": list(clip_vec) if clip_vec is not None else [0.0] * self.clip_dim,
        }

    def _existing_vectors(self, asset_id: str) -> dict[str, Any]:
        found = (self.table.search().where(f"id = {quote(asset_id)}")
                 .select(["has_text_vec", "text_vec", "has_clip_vec", "clip_vec"]).limit(1).to_list())
        if not found:
            return {}
        row = found[0]
        return {"text_vec": row["text_vec"] if row["has_text_vec"] else None,
                "clip_vec": row["clip_vec"] if row["has_clip_vec"] else None}

    def upsert(self, row: IndexRow, *, keep_vectors: bool = True) -> None:
        """Insert or replace one asset; a vector left ``None`` keeps the one already indexed."""
        if row.clip_vec is not None and len(row.clip_vec) != self.clip_dim:
            raise ValueError(f"CLIP vectors here have {self.clip_dim} dimensions, got {len(row.clip_vec)}")
        with self._write_lock:
            keep = self._existing_vectors(row.id) if keep_vectors and (row.text_vec is None or row.clip_vec is None) else None
            record = self.to_record(row, keep)
            (self.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
             .execute(pa.Table.from_pylist([record], schema=self.table.schema)))
            self._writes += 1

    def add_many(self, records: list[dict[str, Any]]) -> None:
        """Bulk append of ready-made records (rebuilds and benchmarks)."""
        with self._write_lock:
            self.table.add(pa.Table.from_pylist(records, schema=self.table.schema))
            self._writes += len(records)

    def delete(self, asset_ids: list[str]) -> None:
        if not asset_ids:
            return
        with self._write_lock:
            self.table.delete("id IN (" + ", ".join(quote(i) for i in asset_ids) + ")")
            self._writes += 1

    def needs_maintenance(self) -> bool:
        return self._writes >= WRITES_PER_MAINTENANCE

    def maintain(self) -> None:
        """Compact fragments, fold new rows into the indexes, and build the ANN index once it pays off."""
        with self._write_lock:
            self._writes = 0
            self.table.optimize()
        names = {index.name for index in self.table.list_indices()}
        for column, flag in (("text_vec", "has_text_vec"), ("clip_vec", "has_clip_vec")):
            # Counted per column: without CLIP weights no row has a CLIP vector, and none is needed.
            if f"{column}_idx" not in names and self.table.count_rows(flag) >= self.vector_index_threshold:
                # Built outside the write lock (minutes at scale): writes go on; new rows are searched exactly
                # until the next optimize folds them in.
                self.table.create_index(metric="cosine", vector_column_name=column, index_type="IVF_HNSW_SQ")

    # -- reading ---------------------------------------------------------------------------------

    def full_text(self, query: str, where: str, limit: int) -> list[tuple[str, float]]:
        rows = (self.table.search(query, query_type="fts", fts_columns="text").where(where, prefilter=True)
                .select(["id", "_score"]).limit(limit).to_list())
        return [(row["id"], float(row["_score"])) for row in rows]

    def nearest(self, column: str, vector: np.ndarray, where: str, limit: int, min_similarity: float,
                refine: int | None = None) -> list[tuple[str, float]]:
        flag = "has_text_vec" if column == "text_vec" else "has_clip_vec"
        query = (self.table.search(vector.astype(np.float32), vector_column_name=column).distance_type("cosine")
                 .where(f"({where}) AND {flag}", prefilter=True).select(["id", "_distance"]).limit(limit))
        if refine:
            query = query.nprobes(refine).refine_factor(2)
        hits = [(row["id"], 1.0 - float(row["_distance"])) for row in query.to_list()]
        return [(asset_id, similarity) for asset_id, similarity in hits if similarity >= min_similarity]

    def rows(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        found = (self.table.search().where("id IN (" + ", ".join(quote(i) for i in ids) + ")")
                 .select(["id", "account_id", "type", "status", "created_us", "filename", "tags", "has_thumbnail", "place"])
                 .limit(len(ids)).to_list())
        return {row["id"]: row for row in found}

    def filtered(self, where: str, limit: int) -> list[str]:
        """Filter-only search (no words): newest first."""
        rows = self.table.search().where(where).select(["id", "created_us"]).limit(limit).to_list()
        return [row["id"] for row in sorted(rows, key=lambda r: -r["created_us"])]

    def count(self, where: str | None = None) -> int:
        return self.table.count_rows(where)
