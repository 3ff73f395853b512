"""Delivery: each event a webhook asked for becomes a row in its log and a ``webhook.deliver`` job.

The subscriber writes the rows and their jobs in one transaction (a retried batch never sends twice); the
job POSTs the signed body, records the try, and raises on failure so the runner retries it with backoff.
A delivery with no try left counts towards the webhook's failure streak; a success resets it; a streak of
``disable_after`` disables the webhook with the reason. Every delivery is its own job: a slow or dead
receiver holds up nothing else.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.events import Event, EventType, Subscriber
from engine.ids import IdPrefix, new_id
from engine.ingest.fetch import OutboundPolicy
from engine.jobs import JobContext, JobKind, JobPolicy, JobRunner
from engine.webhooks.models import DeliveryStatus
from engine.webhooks.sender import Outcome, send
from engine.webhooks.settings import WebhookSettings

log = logging.getLogger("picsha.webhooks")

DELIVER_KIND = "webhook.deliver"


class DeliveryFailed(Exception):
    """The receiver failed this try; the job runs again later."""


class DeliveryRefused(Exception):
    """The URL or its address is not allowed: no later try can succeed."""


def event_payload(event: Event) -> dict[str, Any]:
    """The Standard Webhooks body: ``type``, ``timestamp``, ``data``."""
    return {"type": event.type.value, "timestamp": event.timestamp.isoformat(), "data": event.data}


def delivery_policy(settings: WebhookSettings) -> JobPolicy:
    """Retried with backoff; a refused address is final; finishing is not itself announced as an event."""
    return JobPolicy(
        attempts=settings.attempts, backoff_s=settings.backoff_s, backoff_max_s=settings.backoff_max_s,
        time_limit_s=max(60.0, settings.timeout_s * 2), final=(DeliveryRefused,), announce=False,
    )


class Deliveries:
    def __init__(self, *, catalog: Catalog, jobs: JobRunner, settings: WebhookSettings, outbound: OutboundPolicy):
        self.catalog = catalog
        self.jobs = jobs
        self.settings = settings
        self.outbound = outbound
        self.policy = delivery_policy(settings)

    def job_kind(self) -> JobKind:
        return JobKind(DELIVER_KIND, self.deliver, self.policy)

    def subscriber(self) -> Subscriber:
        return Subscriber("webhooks", frozenset(EventType), self.fan_out)

    # -- events to deliveries ----------------------------------------------------------------------------

    async def fan_out(self, events: list[Event]) -> None:
        wanted = await self._wanted(events)
        if not wanted:
            return
        job_ids: list[str] = []
        async with self.catalog.begin() as conn:
            for event, webhook_id in wanted:
                job_ids.append(await self._queue(conn, event, webhook_id))
        for job_id in job_ids:
            await self.jobs.submit(job_id)

    async def _wanted(self, events: list[Event]) -> list[tuple[Event, str]]:
        """(event, webhook id) for each enabled webhook of the event's account that asked for its type."""
        w = tables.webhooks
        by_account: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_account[event.account_id].append(event)
        wanted: list[tuple[Event, str]] = []
        async with self.catalog.connect() as conn:
            for account_id, mine in by_account.items():
                hooks = (await conn.execute(
                    sa.select(w.c.id, w.c.events).where(w.c.account_id == account_id, w.c.enabled.is_(True))
                )).all()
                wanted += [(event, hook.id) for event in mine for hook in hooks if event.type.value in hook.events]
        return wanted

    async def _queue(self, conn: AsyncConnection, event: Event, webhook_id: str) -> str:
        delivery_id = new_id(IdPrefix.DELIVERY)
        job_id = await self.jobs.create(conn, account_id=event.account_id, kind=DELIVER_KIND,
                                        payload={"delivery_id": delivery_id, "webhook_id": webhook_id})
        at = now()
        await conn.execute(tables.webhook_deliveries.insert().values(
            id=delivery_id, webhook_id=webhook_id, account_id=event.account_id, event=event.type.value,
            payload=event_payload(event), status=DeliveryStatus.PENDING.value, attempts=0, job_id=job_id,
            created_at=at, updated_at=at,
        ))
        return job_id

    # -- the job ---------------------------------------------------------------------------------------------

    async def deliver(self, job: JobContext) -> dict[str, Any]:
        row = await self._load(job.account_id, job.payload.get("delivery_id", ""))
        if row is None:
            return {"skipped": "the webhook was deleted"}
        if row.status != DeliveryStatus.PENDING.value:
            return {"skipped": f"the delivery already {row.status}"}
        if not row.enabled:
            await self._record(row.id, DeliveryStatus.FAILED, row.attempts, Outcome(
                error=f"not sent: the webhook is disabled ({row.disabled_reason or 'no reason given'})"))
            return {"skipped": "the webhook is disabled"}
        await job.report(message=f"sending {row.event} to the receiver (try {job.attempt})")
        outcome = await send(row.url, secret=row.secret, message_id=row.id, payload=row.payload,
                             timeout_s=self.settings.timeout_s, outbound=self.outbound)
        if outcome.ok:
            await self._record(row.id, DeliveryStatus.SUCCEEDED, job.attempt, outcome, webhook_id=row.webhook_id)
            return {"delivery_id": row.id, "status_code": outcome.status_code}
        last = outcome.refused or job.attempt >= self.policy.attempts
        await self._record(row.id, DeliveryStatus.FAILED if last else DeliveryStatus.PENDING, job.attempt, outcome,
                           webhook_id=row.webhook_id if last else None)
        raise (DeliveryRefused if outcome.refused else DeliveryFailed)(outcome.error)

    async def _load(self, account_id: str, delivery_id: str) -> sa.Row | None:
        d, w = tables.webhook_deliveries, tables.webhooks
        async with self.catalog.connect() as conn:
            return (await conn.execute(
                sa.select(d.c.id, d.c.webhook_id, d.c.event, d.c.payload, d.c.status, d.c.attempts,
                          w.c.url, w.c.secret, w.c.enabled, w.c.disabled_reason)
                .join(w, w.c.id == d.c.webhook_id)
                .where(d.c.id == delivery_id, d.c.account_id == account_id)
            )).first()

    async def _record(self, delivery_id: str, status: DeliveryStatus, attempts: int, outcome: Outcome, *,
                      webhook_id: str | None = None) -> None:
        """Write the try to the log; with ``webhook_id``, the delivery is over and the streak follows it."""
        d = tables.webhook_deliveries
        at = now()
        async with self.catalog.begin() as conn:
            await conn.execute(d.update().where(d.c.id == delivery_id).values(
                status=status.value, attempts=attempts, last_status_code=outcome.status_code,
                last_error=outcome.error, updated_at=at,
            ))
            if webhook_id is not None:
                await self._follow_streak(conn, webhook_id, outcome)

    async def _follow_streak(self, conn: AsyncConnection, webhook_id: str, outcome: Outcome) -> None:
        w = tables.webhooks
        if outcome.ok:
            await conn.execute(w.update().where(w.c.id == webhook_id, w.c.failure_streak != 0)
                               .values(failure_streak=0, updated_at=now()))
            return
        await conn.execute(w.update().where(w.c.id == webhook_id)
                           .values(failure_streak=w.c.failure_streak + 1, updated_at=now()))
        streak = (await conn.execute(sa.select(w.c.failure_streak).where(w.c.id == webhook_id))).scalar()
        if streak is not None and streak >= self.settings.disable_after:
            reason = f"{streak} deliveries in a row failed; the last: {outcome.error}"[:1000]
            disabled = await conn.execute(w.update().where(w.c.id == webhook_id, w.c.enabled.is_(True))
                                          .values(enabled=False, disabled_reason=reason, updated_at=now()))
            if disabled.rowcount:
                log.warning("webhook %s disabled: %s", webhook_id, reason)
