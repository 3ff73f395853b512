"""Job rows in the catalog: the one record of every job, whichever backend delivers it to a worker.

Every change of state is one conditional statement: a worker claims a job only while it is runnable (queued
and due, or running under a lease that lapsed), and writes to it only while its lease is its own, so two
processes never run one job at once and a worker that lost its claim cannot overwrite the new owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import Busy, Conflict, NotFound
from engine.ids import IdPrefix, new_id
from engine.jobs.models import FINISHED_VALUES, Job, JobStatus, StepResult

j = tables.jobs
BACKLOG_RETRY_S = 5
RESUMED = "resumed: the worker that held it stopped"


def job_not_found(job_id: str) -> NotFound:
    return NotFound(f"No job {job_id!r} in this account.", code="job_not_found", id=job_id)


@dataclass(frozen=True)
class Claimed:
    """A job this worker now holds: what it needs to run it."""

    id: str
    kind: str
    account_id: str
    asset_id: str | None
    payload: dict[str, Any]
    attempts: int
    resumed: bool  # the previous holder's lease lapsed (it died mid-run)


AT, OWNER, UNTIL, ID = (sa.bindparam(name) for name in ("p_at", "p_owner", "p_until", "p_id"))


def _queued_due(at: Any) -> sa.ColumnElement[bool]:
    return sa.and_(j.c.status == JobStatus.QUEUED.value, j.c.run_after <= at)  # on ix_jobs_status_run_after


def _lapsed(at: Any) -> sa.ColumnElement[bool]:
    return sa.and_(j.c.status == JobStatus.RUNNING.value, sa.or_(j.c.lease_until.is_(None), j.c.lease_until < at))


def _runnable(at: Any) -> sa.ColumnElement[bool]:
    return sa.or_(_queued_due(at), _lapsed(at))


def _claim_statement(pick: sa.Select[Any], *, skip_locked: bool) -> sa.Update:
    """Claim the job ``pick`` finds, if it is still runnable: built once, run with p_at, p_owner, p_until."""
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    was_running = j.c.status == JobStatus.RUNNING.value
    return (
        j.update().where(j.c.id == pick.scalar_subquery(), _runnable(AT))
        .values(status=JobStatus.RUNNING.value, lease_owner=OWNER, lease_until=UNTIL, attempts=j.c.attempts + 1,
                started_at=AT, updated_at=AT, steps=[], error=None, message=sa.case((was_running, RESUMED), else_=None))
        .returning(j.c.id, j.c.kind, j.c.account_id, j.c.asset_id, j.c.payload, j.c.attempts, j.c.message)
    )


class JobStore:
    def __init__(self, catalog: Catalog, *, keep_s: float, poll_interval_ms: int):
        self.catalog = catalog
        self.keep_s = keep_s
        self.poll_interval_ms = poll_interval_ms
        skip_locked = not catalog.is_sqlite
        self._claim_due = _claim_statement(
            sa.select(j.c.id).where(_queued_due(AT)).order_by(j.c.run_after).limit(1), skip_locked=skip_locked)
        self._claim_lapsed = _claim_statement(
            sa.select(j.c.id).where(_lapsed(AT)).order_by(j.c.lease_until).limit(1), skip_locked=skip_locked)
        self._claim_one = _claim_statement(sa.select(j.c.id).where(j.c.id == ID, _runnable(AT)), skip_locked=skip_locked)
        # (each walks an index, as the claims' own picks do)
        self._peeks = (sa.select(j.c.id).where(_queued_due(AT)).limit(1), sa.select(j.c.id).where(_lapsed(AT)).limit(1))

    # -- writing a job ------------------------------------------------------------------------------

    async def create(self, conn: AsyncConnection, *, account_id: str, kind: str, asset_id: str | None = None,
                     payload: dict[str, Any] | None = None, run_after: datetime | None = None,
                     lease: tuple[str, float] | None = None, max_queued: int | None = None) -> str:
        """Write a queued job inside the caller's transaction (so it exists exactly when their rows do); with
        ``lease`` (owner, seconds) it is written already running, held by that owner. With ``max_queued``, an
        account that has that many jobs waiting already gets ``Busy`` (the caller's transaction then writes
        nothing)."""
        if max_queued is not None and lease is None:
            await self._refuse_over_backlog(conn, account_id, max_queued)
        job_id = new_id(IdPrefix.JOB)
        at = now()
        held = {} if lease is None else dict(
            status=JobStatus.RUNNING.value, lease_owner=lease[0], lease_until=at + timedelta(seconds=lease[1]),
            started_at=at, attempts=1)
        await conn.execute(j.insert().values(**{
            **dict(id=job_id, account_id=account_id, asset_id=asset_id, kind=kind, status=JobStatus.QUEUED.value,
                   payload=payload or {}, steps=[], attempts=0, created_at=at, updated_at=at,
                   run_after=run_after or at, progress=0.0, cancel_requested=False),
            **held,
        }))
        return job_id

    async def refuse_over_backlog(self, account_id: str, max_queued: int) -> None:
        """``Busy`` if the account has ``max_queued`` jobs waiting: checked before costly work that would queue
        one (``create`` checks again, in the transaction that writes it)."""
        async with self.catalog.connect() as conn:
            await self._refuse_over_backlog(conn, account_id, max_queued)

    async def _refuse_over_backlog(self, conn: AsyncConnection, account_id: str, max_queued: int) -> None:
        # the max_queued-th waiting job, if there is one: reads at most that many index entries
        nth = (sa.select(j.c.id).where(j.c.account_id == account_id, j.c.status == JobStatus.QUEUED.value)
               .limit(1).offset(max_queued - 1))
        if (await conn.execute(nth)).first() is not None:
            raise Busy(f"This account has {max_queued} jobs waiting already; retry in {BACKLOG_RETRY_S} s.",
                       code="jobs_backlog", retry_after=BACKLOG_RETRY_S, limit=max_queued)

    # -- reading -------------------------------------------------------------------------------------

    async def get(self, account_id: str, job_id: str) -> Job:
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(j).where(j.c.id == job_id, j.c.account_id == account_id))).first()
        if row is None:
            raise job_not_found(job_id)
        return self.model(row)

    async def find(self, job_id: str) -> Job | None:
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(j).where(j.c.id == job_id))).first()
        return self.model(row) if row else None

    async def status(self, job_id: str) -> str | None:
        """The job's status alone (None when there is no such job): a waiter's poll, which must not decode
        a result that grows while the job runs (a scrape's list of files)."""
        async with self.catalog.connect() as conn:
            return await conn.scalar(sa.select(j.c.status).where(j.c.id == job_id))

    async def latest_for_asset(self, account_id: str, asset_id: str) -> Job | None:
        query = (sa.select(j).where(j.c.account_id == account_id, j.c.asset_id == asset_id)
                 .order_by(j.c.created_at.desc()).limit(1))
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        return self.model(row) if row else None

    async def due(self, limit: int) -> list[tuple[str, datetime]]:
        """Jobs a worker could take now or later (queued, or running under a lapsed lease), oldest first."""
        at = now()
        queued = sa.select(j.c.id, j.c.run_after).where(j.c.status == JobStatus.QUEUED.value).order_by(j.c.run_after)
        lapsed = sa.select(j.c.id, j.c.run_after).where(_lapsed(at))
        async with self.catalog.connect() as conn:
            rows = [*(await conn.execute(lapsed.limit(limit))).all(), *(await conn.execute(queued.limit(limit))).all()]
        return [(row.id, utc(row.run_after) or at) for row in rows[:limit]]

    async def next_chance(self, job_id: str) -> datetime | None:
        """When ``job_id`` could next be claimed: its ``run_after`` if queued, its lease's end if running;
        None once it never will (finished, cancelled or gone)."""
        query = sa.select(j.c.status, j.c.run_after, j.c.lease_until).where(j.c.id == job_id)
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or row.status in FINISHED_VALUES:
            return None
        at = row.lease_until if row.status == JobStatus.RUNNING.value else row.run_after
        return utc(at) or now()

    # -- claiming and holding ---------------------------------------------------------------------------

    async def claim(self, owner: str, lease_s: float, job_id: str | None = None) -> Claimed | None:
        """Take ``job_id`` (or the oldest due job, else one whose worker's lease lapsed) with one conditional
        statement; None when there is nothing to take.

        One statement, not a read then a write: on SQLite a read transaction cannot always become a write one
        while another process writes, and on PostgreSQL ``SKIP LOCKED`` lets workers pass each other. The two
        kinds of runnable job are picked one after the other so each pick walks an index, not the table.
        """
        if job_id is None and self.catalog.is_sqlite and not await self._anything_runnable():
            return None
        async with self.catalog.begin() as conn:
            if job_id is None:
                return await self._claim_next(conn, owner, lease_s)
            return await self._claim(conn, self._claim_one, owner, lease_s, p_id=job_id)

    async def _anything_runnable(self) -> bool:
        """Whether a poll may find a job, read without a write transaction: on SQLite every process shares
        one writer, and an idle worker's poll that took it each time made the servers' writes wait (a read
        that says yes may still find nothing to claim: another worker took it)."""
        params = {"p_at": now()}

        def peek(conn: sa.Connection) -> bool:
            return any(conn.execute(query, params).first() is not None for query in self._peeks)

        return await self.catalog.read(peek, kind="jobs.peek")  # on the calling thread while it stays quick

    async def _claim_next(self, conn: AsyncConnection, owner: str, lease_s: float) -> Claimed | None:
        return (await self._claim(conn, self._claim_due, owner, lease_s)
                or await self._claim(conn, self._claim_lapsed, owner, lease_s))

    async def _claim(self, conn: AsyncConnection, statement: sa.Update, owner: str, lease_s: float,
                     **params: Any) -> Claimed | None:
        at = now()
        params |= {"p_at": at, "p_owner": owner, "p_until": at + timedelta(seconds=lease_s)}
        row = (await conn.execute(statement, params)).first()
        if row is None:
            return None
        return Claimed(id=row.id, kind=row.kind, account_id=row.account_id, asset_id=row.asset_id,
                       payload=dict(row.payload or {}), attempts=row.attempts, resumed=row.message == RESUMED)

    async def renew(self, job_id: str, owner: str, lease_s: float) -> tuple[bool, bool]:
        """Extend the lease; (still ours, cancel requested)."""
        statement = (j.update().where(j.c.id == job_id, j.c.lease_owner == owner, j.c.status == JobStatus.RUNNING.value)
                     .values(lease_until=now() + timedelta(seconds=lease_s)).returning(j.c.cancel_requested))
        async with self.catalog.begin() as conn:
            row = (await conn.execute(statement)).first()
        return (row is not None, bool(row.cancel_requested) if row else False)

    async def update(self, job_id: str, owner: str, **values: Any) -> bool:
        """Write progress, message or steps while the lease is ``owner``'s."""
        if "steps" in values:
            values["steps"] = [step.model_dump() if isinstance(step, StepResult) else step for step in values["steps"]]
        statement = j.update().where(j.c.id == job_id, j.c.lease_owner == owner).values(**values, updated_at=now())
        async with self.catalog.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def finish(self, job_id: str, owner: str | None, status: JobStatus, *, error: str | None = None,
                     result: dict[str, Any] | None = None,
                     claim_for: tuple[str, float] | None = None) -> tuple[Job | None, Claimed | None]:
        """End a job: the finished job (None when it was not this owner's to finish, or had finished), and with
        ``claim_for`` (owner, lease) the next runnable job claimed in the same transaction."""
        at = now()
        values: dict[str, Any] = dict(status=status.value, error=error, finished_at=at, updated_at=at,
                                      lease_owner=None, lease_until=None)
        if status is JobStatus.READY:
            values["progress"] = 100.0
        if result is not None:
            values["result"] = result
        where = [j.c.id == job_id, j.c.status.not_in(FINISHED_VALUES)]
        if owner is not None:
            where.append(j.c.lease_owner == owner)
        following = None
        async with self.catalog.begin() as conn:
            row = (await conn.execute(j.update().where(*where).values(**values).returning(*j.c))).first()
            if claim_for is not None:
                following = await self._claim_next(conn, *claim_for)
        return (self.model(row) if row else None), following

    async def retry_later(self, job_id: str, owner: str, run_after: datetime, error: str) -> bool:
        at = now()
        statement = j.update().where(j.c.id == job_id, j.c.lease_owner == owner).values(
            status=JobStatus.QUEUED.value, run_after=run_after, error=error, lease_owner=None, lease_until=None,
            updated_at=at, message=f"retrying: {error}"[:500],
        )
        async with self.catalog.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def release(self, job_id: str, owner: str) -> None:
        """Give a job back unfinished (a worker stopping cleanly): queued again at once, attempt not counted."""
        statement = j.update().where(j.c.id == job_id, j.c.lease_owner == owner, j.c.status == JobStatus.RUNNING.value).values(
            status=JobStatus.QUEUED.value, lease_owner=None, lease_until=None, run_after=now(),
            attempts=sa.func.max(j.c.attempts - 1, 0) if self.catalog.is_sqlite else sa.func.greatest(j.c.attempts - 1, 0),
            updated_at=now(),
        )
        async with self.catalog.begin() as conn:
            await conn.execute(statement)

    # -- cancelling and expiring -------------------------------------------------------------------------

    async def cancel(self, account_id: str, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop at its next step."""
        at = now()
        mine = [j.c.id == job_id, j.c.account_id == account_id]
        async with self.catalog.begin() as conn:
            row = (await conn.execute(sa.select(j.c.status).where(*mine))).first()
            if row is None:
                raise job_not_found(job_id)
            if row.status in FINISHED_VALUES:
                raise Conflict(f"Job {job_id!r} already finished ({row.status}); only queued or running jobs "
                               "can be cancelled.", code="job_already_finished", id=job_id, job_status=row.status)
            await conn.execute(j.update().where(*mine, j.c.status == JobStatus.QUEUED.value).values(
                status=JobStatus.CANCELLED.value, finished_at=at, updated_at=at, error="cancelled",
                message="cancelled before it started"))
            await conn.execute(j.update().where(*mine, j.c.status == JobStatus.RUNNING.value).values(
                cancel_requested=True, updated_at=at, message="cancelling"))
        return await self.get(account_id, job_id)

    async def purge_finished(self) -> int:
        cutoff = now() - timedelta(seconds=self.keep_s)
        statement = j.delete().where(j.c.status.in_(FINISHED_VALUES), j.c.finished_at < cutoff)
        async with self.catalog.begin() as conn:
            return (await conn.execute(statement)).rowcount

    def model(self, row: sa.Row) -> Job:
        return Job(
            id=row.id, kind=row.kind, status=row.status, account_id=row.account_id, asset_id=row.asset_id,
            payload=row.payload or {},
            progress=row.progress or 0.0, message=row.message, done=row.done, total=row.total, result=row.result,
            steps=[StepResult(**step) for step in row.steps or []], error=row.error, attempts=row.attempts,
            poll_interval_ms=self.poll_interval_ms, ttl_ms=int(self.keep_s * 1000),
            created_at=utc(row.created_at), updated_at=utc(row.updated_at), started_at=utc(row.started_at),
            finished_at=utc(row.finished_at),
        )
