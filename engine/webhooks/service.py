"""``WebhookService``: register, list and delete webhooks, read their delivery log, and send a test event."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import Conflict, InvalidInput, NotFound
from engine.events import EventType, Subscriber
from engine.ids import IdPrefix, new_id
from engine.ingest.fetch import OutboundPolicy, check_url
from engine.jobs import JobKind, JobRunner
from engine.webhooks.delivery import Deliveries
from engine.webhooks.models import (
    TEST_EVENT, Delivery, DeliveryPage, Webhook, WebhookCreate, WebhookCreated, WebhookTest, WebhookTestResult,
)
from engine.webhooks.sender import send
from engine.webhooks.settings import WebhookSettings
from engine.webhooks.signing import checked_secret, new_secret

EVENT_TYPES = [event.value for event in EventType]
MAX_URL_CHARS = 2048


def not_found(webhook_id: str) -> NotFound:
    return NotFound(f"No webhook {webhook_id!r} in this account.", code="webhook_not_found", id=webhook_id)


def checked_url(raw: str) -> str:
    """http(s) with a host; whether its address may be reached is checked at each connection."""
    url = str(check_url(raw.strip()))
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"The URL is longer than {MAX_URL_CHARS} characters.", code="url_invalid")
    return url


def checked_events(events: list[str] | None) -> list[str]:
    if events is None:
        return list(EVENT_TYPES)
    unknown = sorted({event for event in events if event not in EVENT_TYPES})
    if unknown or not events:
        named = f"Unknown event types {unknown}" if unknown else "No event types were named"
        raise InvalidInput(f"{named}; valid ones are: {', '.join(EVENT_TYPES)} (omit 'events' for all).",
                           code="webhook_event_invalid", valid=EVENT_TYPES)
    return [event for event in EVENT_TYPES if event in events]


def _webhook(row: sa.Row) -> Webhook:
    return Webhook(id=row.id, url=row.url, events=list(row.events), enabled=row.enabled,
                   failure_streak=row.failure_streak, disabled_reason=row.disabled_reason,
                   created_at=utc(row.created_at), updated_at=utc(row.updated_at))


def _delivery(row: sa.Row) -> Delivery:
    return Delivery(id=row.id, webhook_id=row.webhook_id, event=row.event, status=row.status,
                    attempts=row.attempts, last_status_code=row.last_status_code, last_error=row.last_error,
                    job_id=row.job_id, payload=dict(row.payload), created_at=utc(row.created_at),
                    updated_at=utc(row.updated_at))


class WebhookService:
    def __init__(self, *, catalog: Catalog, jobs: JobRunner, settings: WebhookSettings, outbound: OutboundPolicy):
        self.catalog = catalog
        self.settings = settings
        self.outbound = outbound
        self.delivery = Deliveries(catalog=catalog, jobs=jobs, settings=settings, outbound=outbound)

    def job_kind(self) -> JobKind:
        return self.delivery.job_kind()

    def subscriber(self) -> Subscriber:
        return self.delivery.subscriber()

    async def create(self, principal: Principal, request: WebhookCreate) -> WebhookCreated:
        url = checked_url(request.url)
        events = checked_events(request.events)
        secret = checked_secret(request.secret) if request.secret else new_secret()
        w, at = tables.webhooks, now()
        row = dict(id=new_id(IdPrefix.WEBHOOK), account_id=principal.account_id, url=url, secret=secret,
                   events=events, enabled=True, failure_streak=0, disabled_reason=None, created_at=at, updated_at=at)
        async with self.catalog.begin() as conn:
            count = (await conn.execute(
                sa.select(sa.func.count()).select_from(w).where(w.c.account_id == principal.account_id)
            )).scalar_one()
            if count >= self.settings.max_per_account:
                raise Conflict(f"This account already has {count} webhooks, the most allowed; delete one first.",
                               code="webhook_limit_reached", limit=self.settings.max_per_account)
            await conn.execute(w.insert().values(**row))
        return WebhookCreated(**row)

    async def list(self, principal: Principal) -> list[Webhook]:
        w = tables.webhooks
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(
                sa.select(w).where(w.c.account_id == principal.account_id).order_by(w.c.created_at, w.c.id)
            )).all()
        return [_webhook(row) for row in rows]

    async def delete(self, principal: Principal, webhook_id: str) -> Webhook:
        """The webhook and its delivery log go; deliveries still queued find nothing and stop."""
        w, d = tables.webhooks, tables.webhook_deliveries
        async with self.catalog.begin() as conn:
            row = await self._owned(conn, principal, webhook_id)
            await conn.execute(d.delete().where(d.c.webhook_id == webhook_id))
            await conn.execute(w.delete().where(w.c.id == webhook_id))
        return _webhook(row)

    async def deliveries(self, principal: Principal, webhook_id: str, *, limit: int = 20,
                         before: str | None = None) -> DeliveryPage:
        """The delivery log, newest first; ``before`` (a delivery id) continues after that one."""
        d = tables.webhook_deliveries
        query = sa.select(d).where(d.c.webhook_id == webhook_id, d.c.account_id == principal.account_id)
        async with self.catalog.connect() as conn:
            await self._owned(conn, principal, webhook_id)
            if before is not None:
                query = query.where(await self._older_than(conn, principal, webhook_id, before))
            rows = (await conn.execute(query.order_by(d.c.created_at.desc(), d.c.id.desc()).limit(limit + 1))).all()
        items = [_delivery(row) for row in rows[:limit]]
        return DeliveryPage(items=items, next_before=items[-1].id if len(rows) > limit else None)

    async def test(self, principal: Principal, request: WebhookTest) -> WebhookTestResult:
        """Send one signed ``webhook.test`` event now and say what the receiver answered."""
        url = checked_url(request.url)
        secret = checked_secret(request.secret) if request.secret else new_secret()
        message_id = new_id(IdPrefix.DELIVERY)
        payload = {"type": TEST_EVENT, "timestamp": now().isoformat(),
                   "data": {"message": "A test event from Picsha: this URL can receive webhooks."}}
        outcome = await send(url, secret=secret, message_id=message_id, payload=payload,
                             timeout_s=self.settings.timeout_s, outbound=self.outbound)
        return WebhookTestResult(url=url, ok=outcome.ok, status_code=outcome.status_code, error=outcome.error,
                                 message_id=message_id,
                                 secret=None if request.secret else secret)

    async def _owned(self, conn: AsyncConnection, principal: Principal, webhook_id: str) -> sa.Row:
        w = tables.webhooks
        row = (await conn.execute(
            sa.select(w).where(w.c.id == webhook_id, w.c.account_id == principal.account_id)
        )).first()
        if row is None:
            raise not_found(webhook_id)
        return row

    async def _older_than(self, conn: AsyncConnection, principal: Principal, webhook_id: str,
                          before: str) -> sa.ColumnElement[bool]:
        d = tables.webhook_deliveries
        created = (await conn.execute(sa.select(d.c.created_at).where(
            d.c.id == before, d.c.webhook_id == webhook_id, d.c.account_id == principal.account_id
        ))).scalar()
        if created is None:
            raise InvalidInput(f"'before' names no delivery of webhook {webhook_id!r}.", code="delivery_cursor_invalid")
        return sa.or_(d.c.created_at < created, sa.and_(d.c.created_at == created, d.c.id < before))
