"""``/v1/webhooks`` routes: register, list, delete, test, and read a webhook's delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from engine.webhooks.models import (
    DeliveryPage, Webhook, WebhookCreate, WebhookCreated, WebhookTest, WebhookTestResult,
)
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201, response_model=WebhookCreated)
@needs(Scope.ADMIN)
async def create_webhook(body: WebhookCreate, engine: EngineDep, principal: PrincipalDep) -> WebhookCreated:
    """Register a URL for signed event POSTs (Standard Webhooks). The secret is shown only in this answer."""
    return await engine.webhooks.create(principal, body)


@router.get("", response_model=list[Webhook])
@needs(Scope.ADMIN)
async def list_webhooks(engine: EngineDep, principal: PrincipalDep) -> list[Webhook]:
    return await engine.webhooks.list(principal)


@router.post("/test", response_model=WebhookTestResult)
@needs(Scope.ADMIN)
async def test_webhook(body: WebhookTest, engine: EngineDep, principal: PrincipalDep) -> WebhookTestResult:
    """Send one signed ``webhook.test`` event now; the answer says what the receiver answered."""
    return await engine.webhooks.test(principal, body)


@router.delete("/{webhook_id}", response_model=Webhook)
@needs(Scope.ADMIN)
async def delete_webhook(webhook_id: str, engine: EngineDep, principal: PrincipalDep) -> Webhook:
    return await engine.webhooks.delete(principal, webhook_id)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage)
@needs(Scope.ADMIN)
async def list_deliveries(
    webhook_id: str,
    engine: EngineDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[str | None, Query(max_length=80)] = None,
) -> DeliveryPage:
    """Each delivery's status, tries, last HTTP status and error, newest first."""
    return await engine.webhooks.deliveries(principal, webhook_id, limit=limit, before=before)
