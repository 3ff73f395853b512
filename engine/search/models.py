"""The search contract (picsha spec ``POST /v1/search``), shared by REST and MCP."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from engine.assets.models import AssetStatus, AssetType


class Near(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    km: float = Field(default=25.0, gt=0, le=20_000)


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: AssetType | None = None
    date_after: date | datetime | None = Field(default=None, description="Created on or after (ISO date or time).")
    date_before: date | datetime | None = Field(default=None, description="Created before (ISO date or time).")
    tags: list[str] = Field(default_factory=list, max_length=20, description="Assets carrying all of these tags.")
    near: Near | None = None
    place: str | None = Field(default=None, max_length=200, description="Words of the place label, e.g. 'Cambridge'.")
    status: AssetStatus | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(default="", max_length=500, description="Natural language; plain filters are lifted out of it.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    limit: int = Field(default=10, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=10_000)


class SearchHit(BaseModel):
    id: str
    score: float = Field(description="Relevance: fused reciprocal-rank score scaled so the best possible is 1.")
    url: str | None = Field(description="Signed URL of the thumbnail.")
    filename: str
    type: AssetType
    tags: list[str]
    created_at: datetime
    status: AssetStatus
    matched: list[str] = Field(default_factory=list, description="The paths that found it: fts, text_vector, clip, filter.")


class SearchResponse(BaseModel):
    results: list[SearchHit]
    total: int = Field(description="Matches before paging (capped by the candidate pool).")
    query: str = Field(description="The words searched for after filters were lifted out.")
    filters: SearchFilters = Field(description="The filters applied (given ones plus those parsed from the query).")
    paths: list[str] = Field(default_factory=list, description="Which search paths ran: fts, text_vector, clip.")
    warming: list[str] = Field(
        default_factory=list, exclude_if=lambda skipped: not skipped,  # only present when a path was skipped
        description="Meaning paths skipped because their model is still loading (text_vector, clip): the "
        "results are from the other paths; the same search in a few seconds uses them too.",
    )


class IndexRow(BaseModel):
    """One asset as the index stores it."""

    id: str
    account_id: str
    type: str
    status: str
    created_at: datetime
    filename: str
    tags: list[str] = Field(default_factory=list)
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    has_thumbnail: bool = False
    text: str = ""
    text_vec: list[float] | None = None
    clip_vec: list[float] | None = None

