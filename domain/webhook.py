"""Outgoing webhooks (D3): subscriptions per merchant, one delivery per event and subscription.

A `WebhookDelivery` is created once per (subscription, ledger event) — its ID derives from
both, so the store refuses a second one — and carries the exact body every attempt sends.
An attempt starts with `AttemptStarted`, which also sets when the next attempt may start (the
backoff doubles as the lease: a worker that dies mid-attempt is retried then), and ends with
`Delivered` or `AttemptFailed`; after the last allowed attempt the delivery is dead-lettered
until an admin replays it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import derive_id

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SIGNATURE_HEADER = "PromoLedger-Signature"
EVENT_TYPES = (
    "customer.registered", "order.completed", "order.returned", "voucher.assigned",
    "voucher.redeemed", "redemption.reversed", "campaign.activated", "campaign.ended",
    "campaign.disabled", "campaign.low_stock", "pool.low_stock", "workflow.completed",
)
MIN_SECRET = 24


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("url must be an absolute http(s) URL", code="invalid_url")
    return url


def check_event_types(types: list[str]) -> list[str]:
    if not types or any(t != "*" and t not in EVENT_TYPES for t in types):
        raise InvalidInput(f"event_types: '*' or some of {', '.join(EVENT_TYPES)}",
                           code="invalid_event_types")
    return sorted(set(types))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t." + body)>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver checks: a v1 signature over this body, made within `tolerance` seconds."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False  # a replayed old request, or a clock far off
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookSubscription(Aggregate):
    """Where a merchant's marketing systems want which events, and the secret they verify with."""

    class Created(Aggregate.Created):
        merchant_id: str
        key: str
        url: str
        event_types: list[str]
        secret: str  # hidden from audit streams; served to admins only
        by: str

        def apply(self, sub: WebhookSubscription) -> None:
            sub.merchant_id, sub.key, sub.url = self.merchant_id, self.key, self.url
            sub.event_types, sub.secret = list(self.event_types), self.secret

    class Updated(Aggregate.Event):
        url: str
        event_types: list[str]
        active: bool
        by: str

        def apply(self, sub: WebhookSubscription) -> None:
            sub.url, sub.event_types, sub.active = self.url, list(self.event_types), self.active

    class SecretRotated(Aggregate.Event):
        secret: str
        by: str

        def apply(self, sub: WebhookSubscription) -> None:
            sub.secret = self.secret

    def __init__(self) -> None:
        self.merchant_id = ""
        self.key = ""
        self.url = ""
        self.event_types: list[str] = []
        self.secret = ""
        self.active = True

    @staticmethod
    def id_for(merchant_id: str, key: str) -> UUID:
        return derive_id(merchant_id, "webhook-subscription", key)

    @classmethod
    def create(cls, merchant_id: str, key: str, url: str, event_types: list[str], secret: str,
               by: str, at: datetime) -> WebhookSubscription:
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidInput("key: 1-64 of A-Z a-z 0-9 _ . -", code="invalid_subscription_key")
        return cls._create(cls.Created, id=cls.id_for(merchant_id, key), merchant_id=merchant_id,
                           key=key, url=check_url(url), event_types=check_event_types(event_types),
                           secret=_check_secret(secret), by=by, timestamp=at)

    def update(self, url: str, event_types: list[str], active: bool, by: str, at: datetime) -> None:
        self.trigger_event(self.Updated, url=check_url(url), event_types=check_event_types(event_types),
                           active=active, by=by, timestamp=at)

    def rotate_secret(self, secret: str, by: str, at: datetime) -> None:
        self.trigger_event(self.SecretRotated, secret=_check_secret(secret), by=by, timestamp=at)

    def wants(self, event_type: str, at: datetime) -> bool:
        """Active, subscribed to the type, and existing when the event happened."""
        return (self.active and ("*" in self.event_types or event_type in self.event_types)
                and self.created_on <= at)


def _check_secret(secret: str) -> str:
    if not MIN_SECRET <= len(secret) <= 256 or not secret.isprintable():
        raise InvalidInput(f"secret: {MIN_SECRET}-256 printable characters", code="invalid_secret")
    return secret


class DeliveryStatus:
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"


def backoff(attempt: int, base: float, cap: float) -> timedelta:
    """Exponential: base, 2·base, 4·base … capped; `attempt` counts from 1."""
    return timedelta(seconds=min(cap, base * 2 ** (attempt - 1)))


class WebhookDelivery(Aggregate):
    """One event for one subscription, and every attempt to deliver it."""

    class Scheduled(Aggregate.Created):
        merchant_id: str
        subscription_key: str
        event_id: str
        event_type: str
        position: int
        body: str  # the exact JSON every attempt sends

        def apply(self, d: WebhookDelivery) -> None:
            d.merchant_id, d.subscription_key, d.event_id = self.merchant_id, self.subscription_key, \
                self.event_id
            d.body, d.next_attempt_at = self.body, self.timestamp

    class AttemptStarted(Aggregate.Event):
        attempt: int
        retry_at: datetime

        def apply(self, d: WebhookDelivery) -> None:
            d.attempts, d.status, d.next_attempt_at = self.attempt, DeliveryStatus.IN_FLIGHT, self.retry_at

    class Delivered(Aggregate.Event):
        attempt: int
        status_code: int
        duration_ms: int

        def apply(self, d: WebhookDelivery) -> None:
            d.status = DeliveryStatus.DELIVERED

    class AttemptFailed(Aggregate.Event):
        attempt: int
        status_code: int | None
        error: str
        duration_ms: int
        dead: bool

        def apply(self, d: WebhookDelivery) -> None:
            d.status = DeliveryStatus.DEAD if self.dead else DeliveryStatus.PENDING

    class Replayed(Aggregate.Event):
        by: str

        def apply(self, d: WebhookDelivery) -> None:
            d.status, d.attempts, d.next_attempt_at = DeliveryStatus.PENDING, 0, self.timestamp

    def __init__(self) -> None:
        self.merchant_id = ""
        self.subscription_key = ""
        self.event_id = ""
        self.body = ""
        self.status = DeliveryStatus.PENDING
        self.attempts = 0
        self.next_attempt_at: datetime

    @staticmethod
    def id_for(merchant_id: str, subscription_key: str, event_id: str) -> UUID:
        return derive_id(merchant_id, "webhook-delivery", f"{subscription_key}/{event_id}")

    @classmethod
    def schedule(cls, merchant_id: str, subscription_key: str, event_id: str, event_type: str,
                 position: int, body: str, at: datetime) -> WebhookDelivery:
        return cls._create(cls.Scheduled, id=cls.id_for(merchant_id, subscription_key, event_id),
                           merchant_id=merchant_id, subscription_key=subscription_key,
                           event_id=event_id, event_type=event_type, position=position, body=body,
                           timestamp=at)

    def due(self, at: datetime) -> bool:
        return self.status in (DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT) and \
            self.next_attempt_at <= at

    def start_attempt(self, at: datetime, retry_in: timedelta) -> int:
        """Claim the next attempt; no other worker may start one before `at + retry_in`."""
        if not self.due(at):
            raise InvalidTransition("the delivery is not due", code="delivery_not_due")
        self.trigger_event(self.AttemptStarted, attempt=self.attempts + 1, retry_at=at + retry_in,
                           timestamp=at)
        return self.attempts

    def succeed(self, attempt: int, status_code: int, duration_ms: int, at: datetime) -> None:
        if self.status == DeliveryStatus.DELIVERED:
            return  # an earlier, slow attempt already got through
        self.trigger_event(self.Delivered, attempt=attempt, status_code=status_code,
                           duration_ms=duration_ms, timestamp=at)

    def fail(self, attempt: int, status_code: int | None, error: str, duration_ms: int,
             max_attempts: int, at: datetime) -> None:
        if self.status != DeliveryStatus.IN_FLIGHT or attempt != self.attempts:
            return  # a stale attempt: a later one has started, or one already succeeded
        self.trigger_event(self.AttemptFailed, attempt=attempt, status_code=status_code,
                           error=error[:500], duration_ms=duration_ms,
                           dead=attempt >= max_attempts, timestamp=at)

    def replay(self, by: str, at: datetime) -> None:
        """An admin sends a dead-lettered delivery again, with a fresh run of attempts."""
        if self.status != DeliveryStatus.DEAD:
            raise InvalidTransition("only dead-lettered deliveries are replayed",
                                    code="delivery_not_dead", status=self.status)
        self.trigger_event(self.Replayed, by=by, timestamp=at)


class WebhookDirectory(Aggregate):
    """A merchant's subscription keys: the outbox reads it for every published event."""

    class Started(Aggregate.Created):
        merchant_id: str

        def apply(self, directory: WebhookDirectory) -> None:
            directory.merchant_id = self.merchant_id

    class Added(Aggregate.Event):
        key: str

        def apply(self, directory: WebhookDirectory) -> None:
            directory.keys.append(self.key)

    def __init__(self) -> None:
        self.merchant_id = ""
        self.keys: list[str] = []

    @staticmethod
    def id_for(merchant_id: str) -> UUID:
        return derive_id(merchant_id, "webhook-directory", "all")

    @classmethod
    def start(cls, merchant_id: str, at: datetime) -> WebhookDirectory:
        return cls._create(cls.Started, id=cls.id_for(merchant_id), merchant_id=merchant_id, timestamp=at)

    def add(self, key: str, at: datetime) -> None:
        self.trigger_event(self.Added, key=key, timestamp=at)
