"""Which ANN index a vector column gets for its table's size, how a query searches it, and when it is rebuilt.

A small account keeps the index it always had: one HNSW graph (LanceDB's IVF_HNSW_SQ with its default
partitioning) searched at breadth ``vector_search_ef``. One graph stops paying off as an account grows: a
query walks a graph whose size it cannot skip, and on a million rows even ef 1,000 found under half of the
true top 10 of random vectors while taking ~50 ms. From ``vector_index_split_rows`` rows the index is split
into IVF partitions of about ``vector_index_partition_rows`` rows, each with its own small HNSW graph; a
query picks the ``vector_search_nprobes`` partitions nearest to it and walks only their graphs at breadth
``vector_search_partition_ef``. What a query costs then depends on the partition size, not on the account's.

An index is named after its layout (``<column>_idx`` for the single graph, ``<column>_idx_p<partitions>``
for a split one), so every process reads how to search it from the table itself, and so that a table
that has grown well past what its index was built for (``vector_index_rebuild_growth`` times the rows its
partitions were sized for) is given a new one: rows added since a build are folded into the existing
partitions by compaction, which keeps them searchable but makes the partitions, and the queries, grow.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel

from engine.search.settings import SearchSettings

_NAME = re.compile(r"(?P<column>[a-z_]+?)_idx(?:_p(?P<partitions>\d+))?")


class VectorIndexPlan(BaseModel):
    """One vector column's ANN index: ``partitions`` None is the single graph small accounts keep."""

    partitions: int | None = None
    m: int = 20
    ef_construction: int = 300

    def name(self, column: str) -> str:
        return f"{column}_idx" if self.partitions is None else f"{column}_idx_p{self.partitions}"

    def config(self) -> Any:
        from lancedb.index import HnswSq

        if self.partitions is None:
            return HnswSq(distance_type="cosine")  # LanceDB's defaults, as small accounts always had
        return HnswSq(distance_type="cosine", num_partitions=self.partitions, m=self.m,
                      ef_construction=self.ef_construction)


def plan_for(rows: int, settings: SearchSettings) -> VectorIndexPlan:
    """The index a column with ``rows`` vectors is built with."""
    if rows < settings.vector_index_split_rows:
        return VectorIndexPlan()
    return VectorIndexPlan(partitions=max(2, math.ceil(rows / settings.vector_index_partition_rows)),
                           m=settings.vector_index_m, ef_construction=settings.vector_index_ef_construction)


def parse_name(name: str) -> tuple[str, VectorIndexPlan] | None:
    """(column, layout) of an index this module named; None for any other index."""
    found = _NAME.fullmatch(name)
    if found is None or found["column"] not in ("text_vec", "clip_vec"):
        return None
    partitions = found["partitions"]
    return found["column"], VectorIndexPlan(partitions=int(partitions) if partitions else None)


def needs_rebuild(current: VectorIndexPlan, rows: int, settings: SearchSettings) -> bool:
    """Whether a column with ``rows`` vectors has outgrown its index: a single graph once the table reaches
    the split, a split index once it holds ``vector_index_rebuild_growth`` times the rows its partitions were
    sized for (so a table growing steadily is rebuilt a logarithmic number of times, not at every
    maintenance, and its partitions stay within that factor of their size)."""
    wanted = plan_for(rows, settings)
    if wanted.partitions is None or wanted.partitions == current.partitions:
        return False
    if current.partitions is None:
        return True
    return rows >= settings.vector_index_rebuild_growth * current.partitions * settings.vector_index_partition_rows
