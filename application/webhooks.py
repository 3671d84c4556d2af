"""Outgoing webhooks (D3): subscriptions, the outbox policy, and recording delivery attempts.

`OutboxPolicy` reads the ledger in order (tracked by the policy runner) and, for each event
that is published, schedules one `WebhookDelivery` per subscription that wants it — in one
command whose Idempotency-Key derives from the event, and whose deliveries have IDs derived
from (subscription, event). The delivery worker (`infrastructure/webhook_delivery.py`) then
claims due deliveries, sends them and records the outcome here.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from application.webhook_events import Publisher, event_id
from domain.clock import iso
from domain.errors import AlreadyExists, NotFound
from domain.webhook import WebhookDelivery, WebhookDirectory, WebhookSubscription, backoff


def subscription_view(sub: WebhookSubscription) -> dict[str, Any]:
    """Never the secret: it is read on its own, by admins."""
    return {"key": sub.key, "url": sub.url, "event_types": sub.event_types, "active": sub.active,
            "version": sub.version, "created_at": iso(sub.created_on)}


class WebhookService:
    """Admins manage subscriptions and replay dead letters; workers record attempts."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger, *, max_attempts: int = 8,
                 backoff_seconds: float = 30.0, backoff_cap_seconds: float = 3600.0) -> None:
        self.executor = executor
        self.ledger = ledger
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_cap_seconds = backoff_cap_seconds

    # -- subscriptions ---------------------------------------------------------------------------

    def create_subscription(self, actor: Actor, key: str, url: str, event_types: list[str],
                            secret: str | None = None, idempotency_key: str | None = None
                            ) -> CommandResult:
        """A new subscription; without a secret one is generated (read it from `secret`)."""
        chosen = secret or "whsec_" + secrets.token_urlsafe(32)

        def decide(at: datetime) -> Outcome:
            if self._find(actor.merchant_id, key) is not None:
                raise AlreadyExists(f"subscription {key!r} exists", code="subscription_exists")
            sub = WebhookSubscription.create(actor.merchant_id, key, url, event_types, chosen,
                                             actor.ref, at)
            directory = self.directory(actor.merchant_id) or WebhookDirectory.start(actor.merchant_id, at)
            directory.add(key, at)
            return Outcome(201, subscription_view(sub), (sub, directory))

        # The request hash covers whether a secret was given, never the secret itself.
        payload = {"key": key, "url": url, "event_types": event_types, "own_secret": secret is not None}
        return self._run(actor, "create_webhook", payload, decide, idempotency_key, key)

    def update_subscription(self, actor: Actor, key: str, url: str | None, event_types: list[str] | None,
                            active: bool | None, idempotency_key: str | None = None) -> CommandResult:
        def decide(at: datetime) -> Outcome:
            sub = self.require(actor.merchant_id, key)
            sub.update(url or sub.url, event_types or sub.event_types,
                       sub.active if active is None else active, actor.ref, at)
            return Outcome(200, subscription_view(sub), (sub,))

        payload = {"key": key, "url": url, "event_types": event_types, "active": active}
        return self._run(actor, "update_webhook", payload, decide, idempotency_key, key)

    def rotate_secret(self, actor: Actor, key: str, idempotency_key: str | None = None) -> CommandResult:
        secret = "whsec_" + secrets.token_urlsafe(32)

        def decide(at: datetime) -> Outcome:
            sub = self.require(actor.merchant_id, key)
            sub.rotate_secret(secret, actor.ref, at)
            return Outcome(200, subscription_view(sub), (sub,))

        return self._run(actor, "rotate_webhook_secret", {"key": key}, decide, idempotency_key, key)

    def secret(self, merchant_id: str, key: str) -> dict[str, Any]:
        sub = self.require(merchant_id, key)
        return {"key": key, "secret": sub.secret, "version": sub.version}

    def get(self, merchant_id: str, key: str) -> dict[str, Any]:
        return subscription_view(self.require(merchant_id, key))

    def require(self, merchant_id: str, key: str) -> WebhookSubscription:
        sub = self._find(merchant_id, key)
        if sub is None:
            raise NotFound(f"no webhook subscription {key!r}", code="subscription_not_found")
        return sub

    def list_subscriptions(self, merchant_id: str) -> list[dict[str, Any]]:
        return [subscription_view(s) for s in self.subscriptions(merchant_id)]

    def directory(self, merchant_id: str) -> WebhookDirectory | None:
        return self.ledger.find(WebhookDirectory.id_for(merchant_id), WebhookDirectory)

    def subscriptions(self, merchant_id: str) -> list[WebhookSubscription]:
        """The merchant's subscriptions, for reading only (cached, checked against the store)."""
        directory = self.ledger.read_if_any(WebhookDirectory.id_for(merchant_id), WebhookDirectory)
        if directory is None:
            return []
        return [self.ledger.read(WebhookSubscription.id_for(merchant_id, k), WebhookSubscription)
                for k in directory.keys]

    def _find(self, merchant_id: str, key: str) -> WebhookSubscription | None:
        return self.ledger.find(WebhookSubscription.id_for(merchant_id, key), WebhookSubscription)

    # -- deliveries ------------------------------------------------------------------------------

    def schedule(self, merchant_id: str, subscriptions: list[WebhookSubscription], event: Any,
                 position: int, event_type: str, data: dict[str, Any]) -> None:
        """One delivery per subscription for this event, in one command keyed by the event."""
        eid = event_id(event)
        body = json.dumps({"id": eid, "type": event_type, "created_at": iso(event.timestamp),
                           "position": position, "merchant_id": merchant_id, "data": data},
                          sort_keys=True, separators=(",", ":"), default=str)
        keys = sorted(s.key for s in subscriptions)

        def decide(at: datetime) -> Outcome:
            ids = {WebhookDelivery.id_for(merchant_id, k, eid): k for k in keys}
            taken = self.ledger.existing(list(ids))
            deliveries = [WebhookDelivery.schedule(merchant_id, k, eid, event_type, position, body, at)
                          for i, k in ids.items() if i not in taken]
            return Outcome(201, {"event_id": eid, "subscriptions": keys}, tuple(deliveries))

        actor = Actor(merchant_id=merchant_id, role="admin", ref="outbox")
        self.executor.run(actor=actor, operation="schedule_webhooks", payload={"event": eid},
                          decide=decide, idempotency_key=f"outbox:{eid}")

    def start_attempt(self, delivery_id: uuid.UUID
                      ) -> tuple[WebhookDelivery, WebhookSubscription, int] | None:
        """Claim the next attempt of a due delivery; None if it is not due (any more)."""
        claimed: dict[str, Any] = {}

        def decide(at: datetime) -> Outcome:
            delivery = self.ledger.load(delivery_id, WebhookDelivery)
            if not delivery.due(at):
                return Outcome(200, {}, ())
            attempt = delivery.attempts + 1
            claimed["attempt"] = delivery.start_attempt(
                at, backoff(attempt, self.backoff_seconds, self.backoff_cap_seconds))
            claimed["delivery"] = delivery
            return Outcome(200, {}, (delivery,))

        actor = Actor(merchant_id="", role="admin", ref="webhook-worker")
        self.executor.run(actor=actor, operation="start_webhook_attempt", payload={}, decide=decide,
                          lock_key=delivery_id)
        delivery = claimed.get("delivery")
        if delivery is None:
            return None
        sub = self.ledger.read(WebhookSubscription.id_for(delivery.merchant_id, delivery.subscription_key),
                               WebhookSubscription)
        return delivery, sub, claimed["attempt"]

    def finish_attempt(self, delivery_id: uuid.UUID, attempt: int, status_code: int | None,
                       error: str | None, duration_ms: int) -> None:
        def decide(at: datetime) -> Outcome:
            delivery = self.ledger.load(delivery_id, WebhookDelivery)
            if error is None and status_code is not None:
                delivery.succeed(attempt, status_code, duration_ms, at)
            else:
                delivery.fail(attempt, status_code, error or "", duration_ms, self.max_attempts, at)
            return Outcome(200, {}, (delivery,))

        actor = Actor(merchant_id="", role="admin", ref="webhook-worker")
        self.executor.run(actor=actor, operation="finish_webhook_attempt", payload={}, decide=decide,
                          lock_key=delivery_id)

    def replay(self, actor: Actor, delivery_id: uuid.UUID, idempotency_key: str | None = None
               ) -> CommandResult:
        """Send a dead-lettered delivery again (admin)."""
        def decide(at: datetime) -> Outcome:
            delivery = self.ledger.find(delivery_id, WebhookDelivery)
            if delivery is None or delivery.merchant_id != actor.merchant_id:
                raise NotFound("no such delivery", code="delivery_not_found")
            delivery.replay(actor.ref, at)
            return Outcome(200, {"id": str(delivery_id), "status": delivery.status,
                                 "next_attempt_at": iso(delivery.next_attempt_at)}, (delivery,))

        return self.executor.run(actor=actor, operation="replay_webhook",
                                 payload={"delivery": str(delivery_id)}, decide=decide,
                                 idempotency_key=idempotency_key, lock_key=delivery_id)

    def _run(self, actor: Actor, operation: str, payload: dict[str, Any], decide: Any,
             idempotency_key: str | None, key: str) -> CommandResult:
        return self.executor.run(actor=actor, operation=operation, payload=payload, decide=decide,
                                 idempotency_key=idempotency_key,
                                 lock_key=WebhookSubscription.id_for(actor.merchant_id, key))


class OutboxPolicy:
    """For each published ledger event, one delivery per subscription that wants it."""

    name = "webhook_outbox"

    def __init__(self, service: WebhookService, publisher: Publisher) -> None:
        self.service = service
        self.publisher = publisher
        self.topics = publisher.topics

    def handle(self, event: Any, position: int) -> None:
        published = self.publisher.publish(event)
        if published is None:
            return
        merchant_id, event_type, data = published
        subs = self.service.subscriptions(merchant_id)
        target = (data.get("delivery") or {}).get("subscription") if event_type == "workflow.completed" \
            else None
        wanted = [s for s in subs if s.wants(event_type, event.timestamp)
                  or (s.key == target and s.active and s.created_on <= event.timestamp)]
        if wanted:
            self.service.schedule(merchant_id, wanted, event, position, event_type, data)
