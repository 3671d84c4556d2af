"""Outgoing webhooks (D3): subscriptions, their signing secrets, the delivery log, dead letters."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from application.commands import Actor
from domain.errors import NotFound
from interfaces.http.automation_schemas import (
    DeliveriesOut,
    DeliveryDetailOut,
    ReplayOut,
    SecretOut,
    WebhookCreate,
    WebhookListOut,
    WebhookOut,
    WebhookUpdate,
)
from interfaces.http.responses import ERRORS, IdempotencyKey, MinPosition, command_response
from interfaces.http.security import Admin, Services, requires

router = APIRouter(prefix="/v1", tags=["webhooks"], responses=ERRORS)
WebhookReader = Annotated[Actor, Depends(requires("operations", "auditor"))]
Status = Annotated[str | None, Query(pattern="^(pending|in_flight|delivered|dead)$")]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[int | None, Query(ge=0)]


@router.post("/webhooks", status_code=201, response_model=WebhookOut)
def create_webhook(body: WebhookCreate, actor: Admin, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Subscribe a URL to event types; read the signing secret from `/secret` (admin)."""
    return command_response(services.webhooks.create_subscription(
        actor, body.key, body.url, body.event_types, body.secret, idempotency_key))


@router.get("/webhooks", response_model=WebhookListOut)
def list_webhooks(actor: WebhookReader, services: Services) -> dict[str, Any]:
    """The merchant's subscriptions (never their secrets)."""
    return {"items": services.webhooks.list_subscriptions(actor.merchant_id)}


@router.get("/webhooks/{key}", response_model=WebhookOut)
def get_webhook(key: str, actor: WebhookReader, services: Services) -> dict[str, Any]:
    """One subscription."""
    return services.webhooks.get(actor.merchant_id, key)


@router.patch("/webhooks/{key}", response_model=WebhookOut)
def update_webhook(key: str, body: WebhookUpdate, actor: Admin, services: Services,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Change a subscription's URL or event types, or switch it off and on."""
    return command_response(services.webhooks.update_subscription(
        actor, key, body.url, body.event_types, body.active, idempotency_key))


@router.get("/webhooks/{key}/secret", response_model=SecretOut)
def webhook_secret(key: str, actor: Admin, services: Services) -> dict[str, Any]:
    """The signing secret receivers verify `PromoLedger-Signature` with (admin)."""
    return services.webhooks.secret(actor.merchant_id, key)


@router.post("/webhooks/{key}/secret", response_model=WebhookOut)
def rotate_webhook_secret(key: str, actor: Admin, services: Services,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Replace the signing secret; later attempts are signed with the new one."""
    return command_response(services.webhooks.rotate_secret(actor, key, idempotency_key))


@router.get("/webhooks/{key}/deliveries", response_model=DeliveriesOut)
def webhook_deliveries(key: str, actor: WebhookReader, services: Services, status: Status = None,
                       limit: Limit = 50, cursor: Cursor = None,
                       min_position: MinPosition = None) -> dict[str, Any]:
    """The subscription's delivery log, newest first."""
    services.webhooks.get(actor.merchant_id, key)
    return _page(services, actor, key, status, limit, cursor, min_position)


@router.get("/webhook-deliveries", response_model=DeliveriesOut)
def all_deliveries(actor: WebhookReader, services: Services, status: Status = None, limit: Limit = 50,
                   cursor: Cursor = None, min_position: MinPosition = None) -> dict[str, Any]:
    """Deliveries of every subscription; `status=dead` is the dead-letter list."""
    return _page(services, actor, None, status, limit, cursor, min_position)


@router.get("/webhook-deliveries/{delivery_id}", response_model=DeliveryDetailOut)
def get_delivery(delivery_id: UUID, actor: WebhookReader, services: Services,
                 min_position: MinPosition = None) -> dict[str, Any]:
    """One delivery with every attempt: when, outcome, status code, error, duration."""
    services.automation_reader.wait("webhook_log", min_position)
    found = services.automation_reader.delivery(actor.merchant_id, str(delivery_id))
    if found is None:
        raise NotFound("no such delivery", code="delivery_not_found")
    return found


@router.post("/webhook-deliveries/{delivery_id}/replay", response_model=ReplayOut)
def replay_delivery(delivery_id: UUID, actor: Admin, services: Services,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Send a dead-lettered delivery again, with a fresh run of attempts (admin)."""
    return command_response(services.webhooks.replay(actor, delivery_id, idempotency_key))


def _page(services: Services, actor: Actor, key: str | None, status: str | None, limit: int,
          cursor: int | None, min_position: int | None) -> dict[str, Any]:
    services.automation_reader.wait("webhook_log", min_position)
    items = services.automation_reader.deliveries(actor.merchant_id, key, status, limit + 1, cursor)
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": str(items[-1]["position"]) if more else None}
