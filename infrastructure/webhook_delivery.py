"""Sending webhooks: sign, POST, record — from a worker thread, retried with backoff.

Receivers verify `PromoLedger-Signature: t=<unix>,v1=<hex>` = HMAC-SHA256(secret, "<t>.<body>")
and refuse old timestamps (`domain.webhook.verify`), and de-duplicate by `PromoLedger-Event-Id`:
a delivery is sent at least once and, with that, seen exactly once.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from application.clock import Clock
from application.webhooks import WebhookService
from domain.clock import iso
from domain.webhook import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)


class DueDeliveries(Protocol):
    def due_deliveries(self, at: str, limit: int) -> Sequence[UUID]: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer to record, not somewhere else to send the body


class HttpSender:
    """POSTs a body; returns (status, error) — error None for a 2xx."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # refused, timed out, DNS, TLS
            return None, f"{type(exc).__name__}: {exc}"[:300]
        return (status, None) if 200 <= status < 300 else (status, f"HTTP {status}")


class DeliveryWorker:
    """Claims due deliveries one by one, sends them and records each attempt's outcome."""

    def __init__(self, service: WebhookService, due: DueDeliveries, clock: Clock, sender: HttpSender, *,
                 poll_seconds: float = 1.0, batch: int = 50) -> None:
        self.service = service
        self.due = due
        self.clock = clock
        self.sender = sender
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Attempt every delivery due now; return how many were attempted."""
        attempted = 0
        for delivery_id in self.due.due_deliveries(iso(self.clock()) or "", self.batch):
            if self._stop.is_set():
                break
            attempted += int(self.deliver(delivery_id))
        return attempted

    def deliver(self, delivery_id: UUID) -> bool:
        claimed = self.service.start_attempt(delivery_id)
        if claimed is None:
            return False  # another worker has it, or it is not due any more
        delivery, subscription, attempt = claimed
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json", "User-Agent": "PromoLedger-Webhooks/1",
            SIGNATURE_HEADER: sign(subscription.secret, int(self.clock().timestamp()), body),
            "PromoLedger-Delivery": str(delivery.id), "PromoLedger-Event-Id": delivery.event_id,
            "PromoLedger-Attempt": str(attempt),
        }
        started = time.monotonic()
        if subscription.active:
            status, error = self.sender.send(subscription.url, body, headers)
        else:
            status, error = None, "subscription inactive"
        duration = int((time.monotonic() - started) * 1000)
        self.service.finish_attempt(delivery_id, attempt, status, error, duration)
        log.info("webhook %s to %s attempt %d: %s", delivery.id, subscription.key, attempt,
                 error or status)
        return True

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                delivered = self.run_once()
                if failures:
                    log.info("webhook delivery resumed after %d failed rounds", failures)
                failures = 0
                if delivered:
                    continue
            except Exception:  # store away: back off and try again, never give up
                failures += 1
                if failures == 1:  # one traceback per outage, not one per round
                    log.exception("webhook delivery failed; retrying")
                self._stop.wait(min(5.0, 0.1 * 2**failures))
                continue
            self._wake.wait(self.poll_seconds)
