"""Webhook deliveries and attempts (D3): the outbox's state, the delivery log, the dead letters.

The delivery worker picks due deliveries from `webhook_deliveries`; it may lag the ledger, so
the worker claims each one on its aggregate (version-checked) before sending anything.
"""

from __future__ import annotations

from typing import Any

from domain.clock import iso
from domain.webhook import DeliveryStatus, WebhookDelivery
from infrastructure.database import Tx
from projections.base import Handler, Projection


class WebhookLog(Projection):
    name = "webhook_log"
    tables = {
        "webhook_deliveries": (
            "merchant_id TEXT NOT NULL, delivery_id TEXT NOT NULL PRIMARY KEY, "
            "subscription_key TEXT NOT NULL, "
            "event_id TEXT NOT NULL, event_type TEXT NOT NULL, event_position BIGINT NOT NULL, "
            "status TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at TEXT, last_status_code BIGINT, "
            "last_error TEXT, created_at TEXT NOT NULL, delivered_at TEXT, position BIGINT NOT NULL"
        ),
        "webhook_attempts": (
            "merchant_id TEXT NOT NULL, delivery_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "attempt BIGINT NOT NULL, started_at TEXT NOT NULL, outcome TEXT NOT NULL, status_code BIGINT, "
            "error TEXT, duration_ms BIGINT, finished_at TEXT, PRIMARY KEY (delivery_id, position)"
        ),
    }
    indexes = (
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_sub "
        "ON webhook_deliveries (merchant_id, subscription_key, position)",
    )

    def handlers(self) -> dict[type, Handler]:
        return {
            WebhookDelivery.Scheduled: self._scheduled,
            WebhookDelivery.AttemptStarted: self._started,
            WebhookDelivery.Delivered: self._delivered,
            WebhookDelivery.AttemptFailed: self._failed,
            WebhookDelivery.Replayed: self._replayed,
        }

    def _scheduled(self, e: WebhookDelivery.Scheduled, tx: Tx, position: int) -> None:
        at = iso(e.timestamp)
        tx.execute("INSERT INTO webhook_deliveries VALUES (?,?,?,?,?,?,?,0,?,NULL,NULL,?,NULL,?)",
                   (e.merchant_id, str(e.originator_id), e.subscription_key, e.event_id, e.event_type,
                    e.position, DeliveryStatus.PENDING, at, at, position))

    def _started(self, e: WebhookDelivery.AttemptStarted, tx: Tx, position: int) -> None:
        delivery = str(e.originator_id)
        tx.execute("UPDATE webhook_deliveries SET status=?, attempts=?, next_attempt_at=? "
                   "WHERE delivery_id=?",
                   (DeliveryStatus.IN_FLIGHT, e.attempt, iso(e.retry_at), delivery))
        tx.execute("INSERT INTO webhook_attempts SELECT merchant_id, delivery_id, ?, ?, ?, 'started', "
                   "NULL, NULL, NULL, NULL FROM webhook_deliveries WHERE delivery_id=?",
                   (position, e.attempt, iso(e.timestamp), delivery))

    def _delivered(self, e: WebhookDelivery.Delivered, tx: Tx, _: int) -> None:
        at, delivery = iso(e.timestamp), str(e.originator_id)
        tx.execute("UPDATE webhook_deliveries SET status=?, next_attempt_at=NULL, last_status_code=?, "
                   "last_error=NULL, delivered_at=? WHERE delivery_id=?",
                   (DeliveryStatus.DELIVERED, e.status_code, at, delivery))
        self._finish(tx, e, "delivered", e.status_code, None)

    def _failed(self, e: WebhookDelivery.AttemptFailed, tx: Tx, _: int) -> None:
        status = DeliveryStatus.DEAD if e.dead else DeliveryStatus.PENDING
        tx.execute("UPDATE webhook_deliveries SET status=?, last_status_code=?, last_error=? "
                   "WHERE delivery_id=?", (status, e.status_code, e.error, str(e.originator_id)))
        self._finish(tx, e, "dead" if e.dead else "failed", e.status_code, e.error)

    def _replayed(self, e: WebhookDelivery.Replayed, tx: Tx, _: int) -> None:
        tx.execute("UPDATE webhook_deliveries SET status=?, attempts=0, next_attempt_at=? "
                   "WHERE delivery_id=?",
                   (DeliveryStatus.PENDING, iso(e.timestamp), str(e.originator_id)))

    @staticmethod
    def _finish(tx: Tx, e: Any, outcome: str, status_code: int | None, error: str | None) -> None:
        tx.execute("UPDATE webhook_attempts SET outcome=?, status_code=?, error=?, duration_ms=?, "
                   "finished_at=? WHERE delivery_id=? AND attempt=? AND outcome='started'",
                   (outcome, status_code, error, e.duration_ms, iso(e.timestamp), str(e.originator_id),
                    e.attempt))
