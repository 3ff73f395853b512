"""The catalog: assets, keys, jobs, uploads and the usage ledger in SQLite (WAL) or PostgreSQL."""

from engine.catalog.database import Catalog
from engine.catalog import tables

__all__ = ["Catalog", "tables"]
