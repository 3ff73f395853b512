"""``JobRunner``: the one interface to background work, whichever backend delivers jobs to workers.

A job is a catalog row written before anyone runs it (in the caller's transaction when it belongs to other
rows). The backend (``Dispatcher``) only says "run job X": the embedded one lets workers claim rows from
the catalog; the distributed one hands ids to procrastinate. Running is the same code in both: claim the
row with a lease, renew the lease while the handler works, then finish, retry later or give up by the kind's
policy. Waiting, progress streams and cancelling read and write the same rows, so they work from any
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.catalog.database import now
from engine.jobs.context import JobCancelled, JobContext
from engine.jobs.models import FINISHED_VALUES, Job, JobPolicy, JobStatus
from engine.jobs.settings import JobSettings
from engine.jobs.signals import JobSignals
from engine.jobs.store import Claimed, JobStore

log = logging.getLogger("picsha.jobs")

Handler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]
Finished = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    policy: JobPolicy


class Dispatcher(Protocol):
    """How jobs reach workers: the embedded catalog queue or a distributed queue."""

    async def dispatch(self, job_id: str, run_after: datetime | None = None) -> None:
        """A committed job (or a retry due at ``run_after``) is ready for a worker."""

    async def serve(self, runner: JobRunner, concurrency: int) -> None:
        """Run jobs in this process until cancelled."""

    async def close(self) -> None: ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RequestEnded(Exception):
    """A tracked job's request stopped before it finished (its process died): nothing can resume it."""


async def _ended_with_its_request(context: JobContext) -> None:
    raise RequestEnded("the request that ran it ended before it finished; send it again")


def tracked_kind(name: str) -> JobKind:
    """The kind of a job a request runs itself (``JobRunner.track``): a worker that finds one lapsed ends it."""
    return JobKind(name=name, handler=_ended_with_its_request,
                   policy=JobPolicy(attempts=1, idempotent=False, final=(RequestEnded,), announce=False))


class JobRunner:
    def __init__(self, catalog: Catalog, settings: JobSettings, *, signals: JobSignals, dispatcher: Dispatcher):
        self.catalog = catalog
        self.settings = settings
        self.signals = signals
        self.dispatcher = dispatcher
        self.store = JobStore(catalog, keep_s=settings.keep_days * 86400,
                              poll_interval_ms=int(min(1.0, settings.poll_max_s * 2) * 1000))
        self.kinds: dict[str, JobKind] = {}
        self.on_finished: Finished | None = None
        self.lease_s = settings.lease_s
        self.check_s = min(settings.lease_s / 3, 2.0)
        self._running: dict[str, JobContext] = {}
        self.accepting = True  # False once this process stops taking new jobs (a worker shutting down)

    def declare(self, kinds: list[JobKind], on_finished: Finished | None = None) -> None:
        """The composition root names every job kind once, after the services that handle them exist."""
        self.kinds.update({kind.name: kind for kind in kinds})
        self.on_finished = on_finished

    async def close(self) -> None:
        await self.dispatcher.close()
        await self.signals.close()

    # -- creating ------------------------------------------------------------------------------------

    async def create(self, conn: AsyncConnection, *, account_id: str, kind: str, asset_id: str | None = None,
                     payload: dict[str, Any] | None = None, requested: bool = False) -> str:
        """Write a queued job inside the caller's transaction; ``submit`` it once that committed. ``requested``:
        a client's request makes it (not the server's own follow-up work such as a webhook delivery), so it is
        refused when the account's backlog is full (``JobSettings.max_queued_per_account``)."""
        return await self.store.create(conn, account_id=account_id, kind=kind, asset_id=asset_id, payload=payload,
                                       max_queued=self.settings.max_queued_per_account if requested else None)

    async def admit(self, account_id: str) -> None:
        """Refuse (``Busy``, 503 jobs_backlog) a request that would queue a job for an account whose backlog is
        full, before it does costly work; ``create(requested=True)`` checks again when it writes the job."""
        await self.store.refuse_over_backlog(account_id, self.settings.max_queued_per_account)

    async def submit(self, job_id: str) -> None:
        await self.dispatcher.dispatch(job_id)
        await self.signals.queued(job_id)

    async def enqueue(self, *, account_id: str, kind: str, asset_id: str | None = None,
                      payload: dict[str, Any] | None = None, requested: bool = False) -> str:
        async with self.catalog.begin() as conn:
            job_id = await self.create(conn, account_id=account_id, kind=kind, asset_id=asset_id, payload=payload,
                                       requested=requested)
        await self.submit(job_id)
        return job_id

    @contextlib.asynccontextmanager
    async def track(self, *, account_id: str, kind: str, payload: dict[str, Any] | None = None
                    ) -> AsyncIterator[JobContext]:
        """Work a request does itself (a streamed batch), visible as a job while it runs: status, progress and
        its SSE stream, cancellable. The row is written already held by this process, so no worker takes it;
        should the process die, the lease lapses and a worker ends it as failed (declare ``kind`` with
        ``tracked_kind``). Leaving the block normally ends it ready, an exception ends it failed."""
        owner = f"request:{worker_name()}"
        async with self.catalog.begin() as conn:
            job_id = await self.store.create(conn, account_id=account_id, kind=kind, payload=payload,
                                             lease=(owner, self.lease_s))
        await self.signals.changed(job_id)

        async def save(**values: Any) -> None:
            if await self.store.update(job_id, owner, **values):
                await self.signals.changed(job_id)

        context = JobContext(id=job_id, kind=kind, account_id=account_id, asset_id=None, payload=payload or {},
                             save=save)
        keeper = asyncio.create_task(self._keep_lease(owner, context))
        try:
            yield context
        except JobCancelled:
            await self._end(owner, job_id, JobStatus.CANCELLED, "cancelled")
            raise
        except BaseException as error:
            await asyncio.shield(self._end(owner, job_id, JobStatus.FAILED, f"{type(error).__name__}: {error}"[:500]))
            raise
        finally:
            keeper.cancel()
        await self._end(owner, job_id, JobStatus.READY, None)

    async def _keep_lease(self, owner: str, context: JobContext) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            held, cancel = await self.store.renew(context.id, owner, self.lease_s)
            context.cancel_requested = context.cancel_requested or cancel or not held

    # -- reading, waiting, cancelling ------------------------------------------------------------------

    async def get(self, account_id: str, job_id: str) -> Job:
        return await self.store.get(account_id, job_id)

    async def latest_for_asset(self, account_id: str, asset_id: str) -> Job | None:
        return await self.store.latest_for_asset(account_id, asset_id)

    async def cancel(self, account_id: str, job_id: str) -> Job:
        job = await self.store.cancel(account_id, job_id)
        running_here = self._running.get(job_id)
        if running_here is not None:
            running_here.cancel_requested = True
        await self.signals.changed(job_id)
        if job.status is JobStatus.CANCELLED:
            await self._announce(job)
        return job

    async def watch(self, account_id: str, job_id: str) -> AsyncIterator[Job]:
        """The job now, then each time it changes, ending with its finished state."""
        async with self.signals.watching(job_id) as changed:
            job = await self.get(account_id, job_id)
            yield job
            last = job
            while not last.finished:
                try:
                    await asyncio.wait_for(changed.wait(), self.signals.poll_s)
                except TimeoutError:
                    pass
                changed.clear()
                job = await self.get(account_id, job_id)
                if job != last:
                    yield job
                last = job

    async def wait(self, job_id: str, timeout_s: float) -> bool:
        """True when the job finished within ``timeout_s``."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with self.signals.watching(job_id) as changed:
            while True:
                status = await self.store.status(job_id)
                if status is None or status in FINISHED_VALUES:
                    return True
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(changed.wait(), min(left, self.signals.poll_s))
                except TimeoutError:
                    pass
                changed.clear()

    # -- running ---------------------------------------------------------------------------------------

    async def serve(self, concurrency: int | None = None) -> None:
        """Run jobs in this process until cancelled (``picsha worker``, or in-process in ``picsha serve``)."""
        await self.dispatcher.serve(self, concurrency or self.settings.workers)

    async def execute(self, owner: str, job_id: str | None = None) -> Claimed | None:
        """Claim ``job_id`` (or the next runnable job) and run it; None when there was nothing to claim."""
        claimed = await self.store.claim(owner, self.lease_s, job_id)
        if claimed is not None:
            await self._run(owner, claimed, chain=False)
        return claimed

    async def drain(self, owner: str) -> int:
        """Run runnable jobs one after another while there are any (and this process takes jobs); each
        finishing statement claims the next job in the same transaction. The number of jobs run."""
        ran = 0
        claimed = await self.store.claim(owner, self.lease_s) if self.accepting else None
        while claimed is not None:
            if not self.accepting:  # the stop came while this job was being claimed: give it back untouched
                await self.release(owner, claimed.id)
                break
            ran += 1
            claimed = await self._run(owner, claimed, chain=True)
        return ran

    async def _run(self, owner: str, claimed: Claimed, *, chain: bool) -> Claimed | None:
        """Run a claimed job to its end; with ``chain``, the next job claimed as this one finished (unless this
        process stopped taking jobs meanwhile)."""
        await self.signals.changed(claimed.id)
        kind = self.kinds.get(claimed.kind)
        if kind is None:
            return await self._end(owner, claimed.id, JobStatus.FAILED, f"no handler for job kind {claimed.kind!r}",
                                   chain=chain)
        policy = kind.policy
        if claimed.resumed and not policy.idempotent:
            return await self._end(owner, claimed.id, JobStatus.FAILED,
                                   f"its worker stopped mid-run and {claimed.kind!r} jobs are not run twice", chain=chain)
        if claimed.attempts > policy.attempts:
            return await self._end(owner, claimed.id, JobStatus.FAILED, f"gave up after {policy.attempts} starts",
                                   chain=chain)

        async def save(**values: Any) -> None:
            if await self.store.update(claimed.id, owner, **values):
                await self.signals.changed(claimed.id)

        context = JobContext(id=claimed.id, kind=claimed.kind, account_id=claimed.account_id,
                             asset_id=claimed.asset_id, payload=claimed.payload, save=save, attempt=claimed.attempts)
        self._running[claimed.id] = context
        work = asyncio.create_task(asyncio.wait_for(kind.handler(context), policy.time_limit_s))
        keeper = asyncio.create_task(self._hold(owner, context, work))
        try:
            result = await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # this worker is stopping: give the job back
                await asyncio.shield(self.release(owner, claimed.id))
                raise
            return None  # the lease went to another worker: it owns the row now
        except JobCancelled:
            return await self._end(owner, claimed.id, JobStatus.CANCELLED, "cancelled", chain=chain)
        except TimeoutError:
            error = f"time limit of {policy.time_limit_s:g} s reached"
            return await self._failed(owner, claimed, policy, error, retryable=True, chain=chain)
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", claimed.id, claimed.kind, exc)
            retryable = not isinstance(exc, policy.final)
            error = f"{type(exc).__name__}: {exc}"[:500]
            return await self._failed(owner, claimed, policy, error, retryable=retryable, chain=chain)
        finally:
            keeper.cancel()
            self._running.pop(claimed.id, None)
        failed = context.failed_step
        error = f"step {failed.name!r} failed: {failed.error}" if failed else None
        return await self._end(owner, claimed.id, JobStatus.FAILED if error else JobStatus.READY, error, result,
                               chain=chain)

    async def _hold(self, owner: str, context: JobContext, work: asyncio.Task[Any]) -> bool:
        """Renew the lease while the handler works; pass on a cancel request; stop the work if the lease is lost."""
        while True:
            await asyncio.sleep(self.check_s)
            held, cancel = await self.store.renew(context.id, owner, self.lease_s)
            if not held:
                log.warning("job %s: lease lost; stopping this run", context.id)
                work.cancel()
                return False
            context.cancel_requested = context.cancel_requested or cancel

    async def _failed(self, owner: str, claimed: Claimed, policy: JobPolicy, error: str, *, retryable: bool,
                      chain: bool) -> Claimed | None:
        if retryable and claimed.attempts < policy.attempts:
            run_after = now() + timedelta(seconds=policy.delay_after(claimed.attempts))
            if await self.store.retry_later(claimed.id, owner, run_after, error):
                await self.signals.changed(claimed.id)
                await self.dispatcher.dispatch(claimed.id, run_after)
            return await self.store.claim(owner, self.lease_s) if chain and self.accepting else None
        return await self._end(owner, claimed.id, JobStatus.FAILED, error, chain=chain)

    async def _end(self, owner: str | None, job_id: str, status: JobStatus, error: str | None,
                   result: dict[str, Any] | None = None, *, chain: bool = False) -> Claimed | None:
        job, following = await self.store.finish(job_id, owner, status, error=error, result=result,
                                                 claim_for=(owner, self.lease_s) if chain and owner and self.accepting else None)
        if job is not None:
            await self.signals.changed(job_id)
            await self._announce(job)
        return following

    async def _announce(self, job: Job) -> None:
        kind = self.kinds.get(job.kind)
        if self.on_finished is None or (kind is not None and not kind.policy.announce):
            return
        try:
            await self.on_finished(job)
        except Exception:  # the job's own state is written; an announcement must not undo it
            log.exception("announcing job %s failed", job.id)

    async def release(self, owner: str, job_id: str) -> None:
        await self.store.release(job_id, owner)
        await self.signals.changed(job_id)
        await self.dispatcher.dispatch(job_id)

    async def purge(self) -> int:
        return await self.store.purge_finished()
