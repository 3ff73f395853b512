"""When a file was taken (or made), as opposed to when it was uploaded.

A photo's time is the time on the camera's clock where it was taken; EXIF stores that wall-clock time and,
since EXIF 2.31, its UTC offset. Picsha keeps the two apart: ``taken_at`` in the catalog and ``taken_us``
in the search index hold the wall-clock time written as if it were UTC ("floating" time), and the offset
in minutes is kept beside it when known. Filters on the taken time compare wall clocks, so "June 2024"
finds a photo taken at 00:30 on 1 July in Paris in July, where its own calendar put it, whatever the
server's zone or the offset. ``Asset.taken_at`` joins the two back into one aware time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator

ISO_HINT = "an ISO 8601 date (2024-06-15) or date and time (2024-06-15T10:30:00, optionally with an offset like +02:00)"


def _iso_moment(value: Any) -> date | datetime:
    """One clear error for a bad filter bound (pydantic's date-or-datetime union reports two, one per type)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not {ISO_HINT}")


# A filter bound: a date (its midnight) or a time.
Moment = Annotated[date | datetime, BeforeValidator(_iso_moment)]

# EXIF '2024:06:15 10:00:00', ISO '2024-06-15T10:00:00+02:00', PDF 'D:20240615100000+02'00''
_EXIF = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_PDF = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:(Z)|([+-])(\d{2})'?(\d{2})?'?)?")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def parse_offset(value: Any) -> timezone | None:
    """EXIF OffsetTime* ('+02:00'), or ``None`` when absent or unreadable."""
    if not isinstance(value, str):
        return None
    match = _OFFSET.fullmatch(value.strip())
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if minutes > 18 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if match.group(1) == "-" else minutes))


def parse_moment(value: Any) -> datetime | None:
    """An EXIF, ISO 8601 or PDF date; aware when the text carries an offset, naive (a wall clock) when not.
    Anything unreadable or implausible (a camera that never had its clock set writes 0000:00:00) is ``None``."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if text.startswith("D:"):
            pdf = _PDF.match(text)
            if not pdf:
                return None
            y, mo, d, h, mi, s = (int(part) if part else default for part, default in zip(pdf.groups()[:6], (0, 1, 1, 0, 0, 0)))
            zone = None
            if pdf.group(7):
                zone = UTC
            elif pdf.group(8):
                minutes = int(pdf.group(9)) * 60 + int(pdf.group(10) or 0)
                zone = timezone(timedelta(minutes=-minutes if pdf.group(8) == "-" else minutes))
            moment = datetime(y, mo, d, h, mi, s, tzinfo=zone)
        elif exif := _EXIF.match(text):
            moment = datetime(*(int(part) for part in exif.groups()))
            rest = text[exif.end():]
            zone = parse_offset(rest) if rest else None
            moment = moment.replace(tzinfo=zone) if zone else moment
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment if 1800 <= moment.year <= 9000 else None


def floating(moment: datetime) -> tuple[datetime, int | None]:
    """(wall clock labelled UTC, offset in minutes or ``None``) for storing: a naive moment is a wall clock
    whose offset is unknown."""
    offset = moment.utcoffset()
    wall = moment.replace(tzinfo=UTC)
    return wall, None if offset is None else int(offset.total_seconds() // 60)


def instant_floating(moment: datetime) -> tuple[datetime, int]:
    """An instant (an upload time, a file's mtime) as it reads on its own zone's clock; naive means UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    wall, offset = floating(aware)
    return wall, offset or 0


def joined(wall: datetime, offset_minutes: int | None) -> datetime:
    """The stored wall clock and offset as one aware time; an unknown offset reads as UTC (JSON times
    without an offset are not valid RFC 3339, and the wall clock is what calendar filters compare)."""
    zone = UTC if not offset_minutes else timezone(timedelta(minutes=offset_minutes))
    return wall.replace(tzinfo=zone)


def wall_clock(bound: date | datetime) -> datetime:
    """A taken-time filter bound as stored times are: a wall clock labelled UTC. A date is its midnight; an
    offset a time names is dropped, not converted (the stored times are each place's own clock)."""
    if isinstance(bound, datetime):
        return bound.replace(tzinfo=UTC)
    return datetime.combine(bound, time.min, tzinfo=UTC)


def taken_from(exif: dict[str, Any] | None, fallback: datetime) -> tuple[datetime, int | None]:
    """Stored (wall clock, offset) from the probed ``created`` time, else the instant ``fallback``."""
    moment = parse_moment((exif or {}).get("created"))
    if moment is not None:
        return floating(moment)
    return instant_floating(fallback)
