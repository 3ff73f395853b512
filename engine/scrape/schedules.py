"""Recurring scrapes. Each period is claimed in the catalog: a process that finds a schedule due moves its
``next_run`` on with a conditional UPDATE (``WHERE next_run = <the value it read>``) in the same transaction
that writes the run's job, so however many processes look, one of them runs each period."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from croniter import croniter

from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import InvalidInput, NotFound
from engine.ids import IdPrefix, new_id
from engine.jobs import JobRunner
from engine.scrape.models import SCRAPE_KIND, Cadence, Schedule, ScheduleCreate, ScheduleCreated, ScrapeRequest

log = logging.getLogger("picsha.scrape")

s = tables.scrape_schedules
seen = tables.scrape_schedule_seen
DUE_BATCH = 50


def cron_of(given: ScheduleCreate) -> str:
    """The cron expression (UTC) of a cadence name, or the expression given; 400 for anything else."""
    if given.schedule == Cadence.DAILY:
        return f"0 {given.hour} * * *"
    if given.schedule == Cadence.WEEKLY:
        return f"0 {given.hour} * * {(given.day_of_week + 1) % 7}"  # cron counts from Sunday, the spec from Monday
    if given.schedule == Cadence.MONTHLY:
        return f"0 {given.hour} 1 * *"
    expression = " ".join(given.schedule.split())
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidInput(
            f"schedule {given.schedule!r} is not valid; use daily, weekly, monthly or a 5-field cron expression "
            "such as '0 6 * * 1' (UTC).", code="schedule_invalid", allowed=[c.value for c in Cadence],
        )
    return expression


def next_after(cron: str, moment: datetime) -> datetime:
    return croniter(cron, moment.astimezone(UTC)).get_next(datetime).astimezone(UTC)


def schedule_not_found(schedule_id: str) -> NotFound:
    return NotFound(f"No schedule {schedule_id!r} in this account.", code="schedule_not_found", id=schedule_id)


class ScheduleService:
    def __init__(self, *, catalog: Catalog, jobs: JobRunner):
        self.catalog = catalog
        self.jobs = jobs

    async def create(self, principal: Principal, given: ScheduleCreate, request: ScrapeRequest) -> ScheduleCreated:
        cron = cron_of(given)
        at = now()
        row = dict(id=new_id(IdPrefix.SCHEDULE), account_id=principal.account_id, name=given.name, url=request.url,
                   schedule=given.schedule, cron=cron, request=request.model_dump(mode="json"), enabled=True,
                   next_run=next_after(cron, at), created_at=at)
        async with self.catalog.begin() as conn:
            await conn.execute(s.insert().values(**row))
        return ScheduleCreated(schedule_id=row["id"], next_run=row["next_run"])

    async def list(self, principal: Principal) -> list[Schedule]:
        query = s.select().where(s.c.account_id == principal.account_id).order_by(s.c.created_at, s.c.id)
        async with self.catalog.connect() as conn:
            return [self._model(row) for row in (await conn.execute(query)).all()]

    async def get(self, principal: Principal, schedule_id: str) -> Schedule:
        async with self.catalog.connect() as conn:
            row = (await conn.execute(s.select().where(*self._mine(principal, schedule_id)))).first()
        if row is None:
            raise schedule_not_found(schedule_id)
        return self._model(row)

    async def delete(self, principal: Principal, schedule_id: str) -> Schedule:
        found = await self.get(principal, schedule_id)
        async with self.catalog.begin() as conn:
            await conn.execute(seen.delete().where(seen.c.schedule_id == schedule_id))
            await conn.execute(s.delete().where(*self._mine(principal, schedule_id)))
        return found

    async def toggle(self, principal: Principal, schedule_id: str) -> Schedule:
        """Enable a disabled schedule (its next run counted from now) or disable an enabled one."""
        found = await self.get(principal, schedule_id)
        values: dict[str, Any] = {"enabled": not found.enabled}
        if not found.enabled:
            values["next_run"] = next_after(found.cron, now())
        async with self.catalog.begin() as conn:
            await conn.execute(s.update().where(*self._mine(principal, schedule_id)).values(**values))
        return await self.get(principal, schedule_id)

    # -- running -------------------------------------------------------------------------------------

    async def run_due(self) -> list[str]:
        """Start the runs that are due and that this process wins; the jobs it started."""
        at = now()
        query = (sa.select(s.c.id, s.c.account_id, s.c.cron, s.c.request, s.c.next_run)
                 .where(s.c.enabled.is_(True), s.c.next_run <= at).order_by(s.c.next_run).limit(DUE_BATCH))
        async with self.catalog.connect() as conn:
            due = (await conn.execute(query)).all()
        started: list[str] = []
        for row in due:
            job_id = await self._claim(row, at)
            if job_id is not None:
                await self.jobs.submit(job_id)
                started.append(job_id)
        return started

    async def _claim(self, row: sa.Row, at: datetime) -> str | None:
        following = next_after(row.cron, at)  # missed periods are not made up: the next one is after now
        claim = (s.update().where(s.c.id == row.id, s.c.enabled.is_(True), s.c.next_run == row.next_run)
                 .values(next_run=following, last_run_at=at))
        async with self.catalog.begin() as conn:
            if (await conn.execute(claim)).rowcount != 1:
                return None  # another process took this period
            job_id = await self.jobs.create(conn, account_id=row.account_id, kind=SCRAPE_KIND,
                                            payload={"request": row.request, "schedule_id": row.id})
            await conn.execute(s.update().where(s.c.id == row.id).values(last_job_id=job_id))
        log.info("schedule %s: run %s started", row.id, job_id)
        return job_id

    # -- what earlier runs stored --------------------------------------------------------------------------

    async def seen_before(self, schedule_id: str, sha256: str) -> bool:
        query = sa.select(seen.c.sha256).where(seen.c.schedule_id == schedule_id, seen.c.sha256 == sha256)
        async with self.catalog.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def remember(self, schedule_id: str, sha256: str) -> None:
        async with self.catalog.begin() as conn:
            exists = await conn.execute(sa.select(seen.c.sha256).where(
                seen.c.schedule_id == schedule_id, seen.c.sha256 == sha256))
            if exists.first() is None:
                await conn.execute(seen.insert().values(schedule_id=schedule_id, sha256=sha256))

    @staticmethod
    def _mine(principal: Principal, schedule_id: str) -> list[sa.ColumnElement[bool]]:
        return [s.c.id == schedule_id, s.c.account_id == principal.account_id]

    @staticmethod
    def _model(row: sa.Row) -> Schedule:
        return Schedule(id=row.id, name=row.name, url=row.url, schedule=row.schedule, cron=row.cron,
                        enabled=row.enabled, next_run=utc(row.next_run), last_run_at=utc(row.last_run_at),
                        last_job_id=row.last_job_id, created_at=utc(row.created_at),
                        request=ScrapeRequest.model_validate(row.request))
