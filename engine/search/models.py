"""The search contract (picsha spec ``POST /v1/search``), shared by REST and MCP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.assets.models import AssetStatus, AssetType
from engine.assets.taken import Moment
from engine.library.models import HexColour


class Near(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    km: float = Field(default=25.0, gt=0, le=20_000)


TAKEN_NOTE = "local time there."
DATE_PAIRS = (("taken_after", "taken_before"), ("uploaded_after", "uploaded_before"))
OLD_NAMES = {"date_after": "uploaded_after", "date_before": "uploaded_before"}


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: AssetType | None = None
    taken_after: Moment | None = Field(
        default=None, description="Taken (or made) on or after this ISO date or time, " + TAKEN_NOTE)
    taken_before: Moment | None = Field(
        default=None, description="Taken (or made) before this ISO date or time, " + TAKEN_NOTE)
    uploaded_after: Moment | None = Field(
        default=None, description="Uploaded on or after this ISO date or time (UTC).")
    uploaded_before: Moment | None = Field(
        default=None, description="Uploaded before this ISO date or time (UTC).")
    date_after: Moment | None = Field(
        default=None, description="Old name of uploaded_after (the picsha spec's): the upload time, not when taken.",
        json_schema_extra={"deprecated": True})
    date_before: Moment | None = Field(
        default=None, description="Old name of uploaded_before: the upload time, not when taken.",
        json_schema_extra={"deprecated": True})
    tags: list[str] = Field(default_factory=list, max_length=20, description="Assets carrying all of these tags.")
    near: Near | None = None
    place: str | None = Field(default=None, max_length=200, description="Words of the place label, e.g. 'Cambridge'.")
    status: AssetStatus | None = None
    color: HexColour | None = Field(default=None, description="Hex, in the palette.")
    color_distance: float = Field(default=20.0, gt=0, le=100, description="Delta E.")

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """The old names fold into the new ones, so everything downstream reads one field per bound."""
        if not isinstance(data, dict) or not any(data.get(old) is not None for old in OLD_NAMES):
            return data
        data = dict(data)
        for old, new in OLD_NAMES.items():
            given = data.pop(old, None)
            if given is None:
                continue
            if data.get(new) is not None and data[new] != given:
                raise ValueError(f"{old} is the old name of {new}; give one of them, not both")
            data[new] = given
        return data

    @model_validator(mode="after")
    def _possible_ranges(self) -> SearchFilters:
        for after, before in DATE_PAIRS:
            low, high = getattr(self, after), getattr(self, before)
            if low is not None and high is not None and _day(low) > _day(high):
                raise ValueError(f"{after} ({low}) is later than {before} ({high}), so nothing could match")
        return self


def _day(value: Moment) -> date:
    return value.date() if isinstance(value, datetime) else value


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
    created_at: datetime = Field(description="When it was uploaded.")
    taken_at: datetime = Field(description="When it was taken or made (see the asset's taken_at).")
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
    taken_at: datetime | None = Field(default=None, description="The catalog's taken_at (a wall clock); none: created_at.")
    taken_offset: int | None = None
    filename: str
    tags: list[str] = Field(default_factory=list)
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    has_thumbnail: bool = False
    text: str = ""
    text_vec: list[float] | None = None
    clip_vec: list[float] | None = None

