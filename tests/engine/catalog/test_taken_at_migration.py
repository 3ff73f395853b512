"""Migration 5 fills the taken time of assets uploaded before it from their stored EXIF, else their upload."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from engine.catalog import Catalog, tables

TAKEN_AT_VERSION = 5


def _asset(asset_id: str, exif: dict[str, object], created: datetime) -> dict[str, object]:
    return dict(id=asset_id, account_id="acct_1", status="ready", type="image", filename=f"{asset_id}.jpg",
                content_type="image/jpeg", format="jpeg", size=1, sha256="0" * 64, blob_key=f"k/{asset_id}", exif=exif,
                tags=[], metadata={}, is_public=False, ai={}, config={}, created_at=created, updated_at=created)


async def test_existing_rows_get_their_exif_time_or_their_upload_time(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    uploaded = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    try:
        await catalog.migrate(target=TAKEN_AT_VERSION - 1)
        before = sa.Table("assets", sa.MetaData(), *(sa.Column(c.name, c.type) for c in tables.assets.columns
                                                     if c.name not in ("taken_at", "taken_offset", "cost_micros")))
        async with catalog.begin() as conn:
            await conn.execute(sa.text("INSERT INTO accounts (id, name, is_owner, created_at) VALUES ('acct_1', 'a', false, :t)"),
                               {"t": uploaded})
            await conn.execute(before.insert(), [
                _asset("as_exif", {"created": "2024-06-15T10:30:00", "camera": "X"}, uploaded),
                _asset("as_offset", {"created": "2024-06-30T23:30:00-04:00"}, uploaded),
                _asset("as_none", {}, uploaded),
                _asset("as_junk", {"created": "sometime"}, uploaded),
            ])
        assert await catalog.migrate(target=TAKEN_AT_VERSION) == [TAKEN_AT_VERSION]
        a = tables.assets
        async with catalog.connect() as conn:
            rows = {r.id: r for r in (await conn.execute(sa.select(a.c.id, a.c.taken_at, a.c.taken_offset))).all()}

        def taken(asset_id: str) -> tuple[datetime, int | None]:
            row = rows[asset_id]
            return row.taken_at.replace(tzinfo=UTC), row.taken_offset
        assert taken("as_exif") == (datetime(2024, 6, 15, 10, 30, tzinfo=UTC), None)
        assert taken("as_offset") == (datetime(2024, 6, 30, 23, 30, tzinfo=UTC), -240)  # the wall clock where taken
        assert taken("as_none") == taken("as_junk") == (uploaded, 0)
    finally:
        await catalog.close()
