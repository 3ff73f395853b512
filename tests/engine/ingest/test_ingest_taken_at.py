"""An asset's taken time (when the picture was taken or the file made) is kept apart from its upload time."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

from PIL import Image

from engine import Engine
from engine.assets import Asset, IngestOptions
from engine.assets.taken import joined, parse_moment, taken_from
from engine.auth import Principal
from tests.factories import image_bytes, jpeg_with_exif


async def upload(engine: Engine, owner: Principal, data: bytes, name: str) -> Asset:
    """An upload with no file time around it (as over HTTP)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return await engine.ingest.from_stream(owner, name, chunks(), IngestOptions())


async def test_exif_capture_time_with_its_offset_is_the_taken_time(engine: Engine, owner: Principal) -> None:
    before = datetime.now(UTC)
    asset = await upload(engine, owner, jpeg_with_exif(taken="2024:06:15 10:30:00", offset="+02:00"), "paris.jpg")
    assert asset.taken_at == datetime(2024, 6, 15, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    assert asset.taken_at.utcoffset() == timedelta(hours=2)
    assert asset.created_at >= before.replace(microsecond=0)
    assert asset.meta.exif["created"] == "2024-06-15T10:30:00+02:00"
    again = await engine.assets.get(owner, asset.id)
    assert again.taken_at == asset.taken_at and again.taken_at.utcoffset() == timedelta(hours=2)


async def test_without_an_offset_the_camera_clock_reads_as_utc(engine: Engine, owner: Principal) -> None:
    asset = await upload(engine, owner, jpeg_with_exif(taken="2024:06:15 23:59:00"), "late.jpg")
    assert asset.taken_at == datetime(2024, 6, 15, 23, 59, tzinfo=UTC)
    created = await upload(engine, owner, jpeg_with_exif(taken=None, digitized="2023:01:02 03:04:05"), "scan.jpg")
    assert created.taken_at == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_a_pdf_is_taken_when_it_was_created(engine: Engine, owner: Principal) -> None:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(out, "PDF", title="Minutes", creationDate=datetime(2022, 3, 4, 5, 6, 7).timetuple())
    asset = await upload(engine, owner, out.getvalue(), "minutes.pdf")
    assert asset.taken_at == datetime(2022, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert asset.meta.exif["created"].startswith("2022-03-04T05:06:07")


async def test_without_a_date_inside_a_local_file_its_modification_time_counts(engine: Engine, owner: Principal) -> None:
    path = engine.work_dir / "drawing.png"
    path.write_bytes(image_bytes(40, 30, "png"))
    modified = datetime(2021, 7, 8, 9, 10, 11, tzinfo=UTC)
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    asset = await engine.ingest.from_path(owner, path, IngestOptions())
    assert asset.taken_at == modified and asset.created_at > modified + timedelta(days=365)


async def test_with_no_time_known_the_upload_time_is_the_taken_time(engine: Engine, owner: Principal) -> None:
    asset = await upload(engine, owner, image_bytes(40, 30, "png"), "plain.png")
    assert asset.taken_at == asset.created_at


def test_dates_in_every_form_the_probes_meet() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert parse_moment("2024:06:15 10:30:00") == datetime(2024, 6, 15, 10, 30)
    assert parse_moment("2024-06-15T10:30:00+02:00") == datetime(2024, 6, 15, 10, 30, tzinfo=plus_two)
    assert parse_moment("2024-06-15T08:30:00Z") == datetime(2024, 6, 15, 8, 30, tzinfo=UTC)
    assert parse_moment("D:20240615103000+02'00'") == datetime(2024, 6, 15, 10, 30, tzinfo=plus_two)
    assert parse_moment("D:20240615") == datetime(2024, 6, 15)
    for junk in ("0000:00:00 00:00:00", "", "soon", None, 7, "D:nope"):
        assert parse_moment(junk) is None
    # Stored as the wall clock plus its offset, and joined back to the same instant.
    wall, offset = taken_from({"created": "2024-06-30T23:30:00-04:00"}, datetime(2026, 1, 1, tzinfo=UTC))
    assert (wall, offset) == (datetime(2024, 6, 30, 23, 30, tzinfo=UTC), -240)
    assert joined(wall, offset) == datetime(2024, 7, 1, 3, 30, tzinfo=UTC)
    assert taken_from({}, datetime(2026, 1, 1, tzinfo=UTC)) == (datetime(2026, 1, 1, tzinfo=UTC), 0)
