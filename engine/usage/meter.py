"""The storage meter: bytes stored over time, as byte-seconds per account and UTC day.

No clock-driven writes: each change of an account's stored bytes (an upload, a delete) updates that day's
row in the same transaction as the change, adding the bytes held since the last change times the time
since. A day without changes has no row; it held the level the last row before it ended with, all day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import tables, upsert

DAY_S = 86_400


def day_start(day: date) -> float:
    return datetime.combine(day, time(), tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class StoredDay:
    day: date
    byte_seconds: float

    @property
    def byte_hours(self) -> float:
        return self.byte_seconds / 3600


def _add_held(at: float) -> dict[str, sa.ColumnElement[float]]:
    """The column updates that close the span since the last change at ``at`` (never backwards: a change
    committed out of order adds nothing for the overlap)."""
    m = tables.storage_days
    moment = sa.literal(at, sa.Float)
    later = moment > m.c.since
    return {
        "byte_seconds": m.c.byte_seconds + sa.case((later, m.c.bytes * (moment - m.c.since)), else_=0.0),
        "since": sa.case((later, moment), else_=m.c.since),
    }


class StorageMeter:
    async def change(self, conn: AsyncConnection, account_id: str, delta: int, *, at: datetime | None = None) -> None:
        """Record that the account now stores ``delta`` more (or, negative, fewer) bytes."""
        if delta == 0:
            return
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        day, stamp = moment.date(), moment.timestamp()
        m = tables.storage_days
        key = (m.c.account_id == account_id) & (m.c.day == day.isoformat())
        if await conn.scalar(sa.select(m.c.bytes).where(key)) is None:
            level = await self._level_before(conn, account_id, day)
            start = day_start(day)
            await conn.execute(upsert.insert(conn, m).values(
                account_id=account_id, day=day.isoformat(), bytes=level, byte_seconds=level * (stamp - start),
                since=stamp).on_conflict_do_nothing())
        await conn.execute(m.update().where(key).values(**_add_held(stamp), bytes=m.c.bytes + delta))

    async def level(self, conn: AsyncConnection, account_id: str) -> int:
        """Bytes the account stores now."""
        return await self._level_before(conn, account_id, date.max)

    async def _level_before(self, conn: AsyncConnection, account_id: str, day: date) -> int:
        m = tables.storage_days
        query = (sa.select(m.c.bytes).where(m.c.account_id == account_id, m.c.day < day.isoformat())
                 .order_by(m.c.day.desc()).limit(1))
        return max(0, int(await conn.scalar(query) or 0))

    async def days(self, conn: AsyncConnection, account_id: str, start: date, until: datetime) -> list[StoredDay]:
        """Byte-seconds of each day from ``start`` to ``until`` (its last day counted up to ``until``)."""
        m = tables.storage_days
        rows = {row.day: row for row in await conn.execute(
            sa.select(m.c.day, m.c.bytes, m.c.byte_seconds, m.c.since)
            .where(m.c.account_id == account_id, m.c.day >= start.isoformat(), m.c.day <= until.date().isoformat()))}
        level = await self._level_before(conn, account_id, start)
        end_stamp = until.timestamp()
        days: list[StoredDay] = []
        day = start
        while day <= until.date():
            close = min(day_start(day) + DAY_S, end_stamp)
            row = rows.get(day.isoformat())
            if row is None:
                held = level * max(0.0, close - day_start(day))
            else:
                held = float(row.byte_seconds) + row.bytes * max(0.0, close - float(row.since))
                level = max(0, int(row.bytes))
            days.append(StoredDay(day, held))
            day += timedelta(days=1)
        return days
