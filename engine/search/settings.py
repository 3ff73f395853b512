"""Search index settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchSettings(BaseModel):
    uri: str | None = Field(default=None, description="LanceDB folder or s3:// URI; default <data_dir>/index.")
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="LanceDB object store options for an s3:// uri, as JSON (aws_endpoint, aws_region, allow_http, "
        "aws_access_key_id, ...). Empty with S3 blob storage: taken from the storage.s3_* settings.",
    )
    read_consistency_s: float | None = Field(
        default=1.0, ge=0,
        description="How old an open index table may get before a read looks for other processes' writes "
        "(0: every read looks; none: never, for a single process).",
    )
    table: str = Field(default="assets", description="Name prefix of the index tables (one per account).")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    candidates: int = Field(default=200, ge=10, le=5000, description="Rows each search path hands to fusion.")
    min_text_similarity: float = Field(
        default=0.25, ge=-1, le=1, description="MiniLM cosine similarity below which a vector hit is noise."
    )
    min_clip_similarity: float = Field(default=0.18, ge=-1, le=1)
    min_relative_score: float = Field(
        default=0.35, ge=0, le=1,
        description="Low-relevance filler is dropped instead of padding a page: a hit no word matched, found only "
        "by meaning, stays only when its similarity on some vector path reaches this fraction of the way from that "
        "path's noise floor (min_text_similarity, min_clip_similarity) to the path's best hit. Hits the words matched "
        "and the top hit always stay; 0 keeps everything.",
    )
    vector_index_threshold: int = Field(
        default=2_000, ge=256,
        description="Rows with vectors in an account above which its ANN vector index is built (exact search below).",
    )
    vector_search_ef: int = Field(
        default=1_000, ge=10, le=10_000,
        description="Candidates an ANN vector query visits: higher finds more of the true nearest, a little slower.",
    )
    vector_index_split_rows: int = Field(
        default=100_000, ge=1_000,
        description="Rows with vectors in an account from which its ANN index is split into IVF partitions, each "
        "with its own HNSW graph (below: one graph, searched at vector_search_ef).",
    )
    vector_index_partition_rows: int = Field(
        default=20_000, ge=500,
        description="Rows per IVF partition of a split index: a query's cost follows this, not the account's size.",
    )
    vector_index_m: int = Field(default=20, ge=4, le=128, description="HNSW links per node in a split index.")
    vector_index_ef_construction: int = Field(
        default=150, ge=50, le=2_000, description="HNSW build breadth in a split index (higher: better graph, slower build).")
    vector_index_rebuild_growth: float = Field(
        default=2.0, ge=1.2,
        description="A split index is rebuilt in the background once its account holds this many times the rows "
        "its partitions were sized for (rows added meanwhile are folded into the existing partitions).",
    )
    vector_search_nprobes: int = Field(
        default=10, ge=1, le=1_000,
        description="Partitions of a split index a vector query searches (more under a filter: see _probes).")
    vector_search_partition_ef: int = Field(
        default=100, ge=10, le=10_000, description="HNSW breadth of a vector query in each partition of a split index.")
    refine_with_claude: bool = Field(default=True, description="Let Claude refine parsed filters when a key is set.")
