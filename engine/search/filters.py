"""Turning filters into one LanceDB SQL predicate over an account's table (the table is the account)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

from engine.assets.taken import wall_clock
from engine.search.index import quote, to_micros
from engine.search.models import SearchFilters

KM_PER_DEGREE = 111.32


def _moment(value: date | datetime) -> datetime:
    """An upload-time bound: an instant (no offset given: UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


TRASHED_STATUS = "trashed"  # the index's status of an asset in the trash (the catalog keeps its own status)


def where_clause(filters: SearchFilters) -> str | None:
    """Entry point. Every value is a typed number/enum or passes through ``quote``. Trashed assets (kept in the
    index with their vectors, so a restore needs no new analysis) never match."""
    parts: list[str] = [f"status <> {quote(TRASHED_STATUS)}"]
    if filters.type:
        parts.append(f"type = {quote(filters.type.value)}")
    if filters.status:
        parts.append(f"status = {quote(filters.status.value)}")
    # date_after/date_before never get here: SearchFilters folds them into uploaded_after/uploaded_before.
    if filters.uploaded_after:
        parts.append(f"created_us >= {to_micros(_moment(filters.uploaded_after))}")
    if filters.uploaded_before:
        parts.append(f"created_us < {to_micros(_moment(filters.uploaded_before))}")
    if filters.taken_after:
        parts.append(f"taken_us >= {to_micros(wall_clock(filters.taken_after))}")
    if filters.taken_before:
        parts.append(f"taken_us < {to_micros(wall_clock(filters.taken_before))}")
    if filters.tags:
        parts.append("array_has_all(tags, [" + ", ".join(quote(t.lower()) for t in filters.tags) + "])")
    if filters.place:
        pattern = filters.place.lower().replace("%", "").replace("_", " ")
        parts.append(f"lower(place) LIKE {quote('%' + pattern + '%')}")
    if filters.near:
        # A bounding box inside the index query (an exact circle would need a post-filter after top-k).
        dlat = filters.near.km / KM_PER_DEGREE
        dlon = filters.near.km / (KM_PER_DEGREE * max(math.cos(math.radians(filters.near.lat)), 0.01))
        parts.append(f"lat BETWEEN {filters.near.lat - dlat} AND {filters.near.lat + dlat}")
        parts.append(f"lon BETWEEN {filters.near.lon - dlon} AND {filters.near.lon + dlon}")
    return " AND ".join(parts) or None
