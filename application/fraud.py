"""Fraud detection and review (A4).

Detectors run as an event-driven policy over the ledger (`FraudPolicy`, driven by the policy
runner like workflows and webhooks): each redemption, rejection and reversal becomes zero or
more *observations* — (detector, subject, counted item, time, event reference) — kept in the
policy's working table; when the observations of a subject within the merchant's window reach
its threshold, a `FraudFlag` is raised. Observations are keyed by the event reference and the
flag's ID by detector x subject x window, so replaying events (a crash before the policy's
position moved, two runners) neither counts twice nor raises twice. Time is the events' own
time, never the wall clock, so a replay decides the same.

Support reviews flags (dismissed or confirmed, with a note); operations set thresholds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.clock import iso
from domain.errors import NotFound
from domain.fraud import FraudFlag, FraudRules, default_thresholds
from domain.redemption import Redemption
from domain.voucher import Voucher

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SYSTEM = "fraud-detector"


@dataclass(frozen=True)
class Observation:
    merchant_id: str
    detector: str
    subject: str
    item: str  # what is counted (distinct): an event reference, a customer, a store
    at: datetime
    ref: str  # the event that was observed: "<originator id>/<version>"


class ObservationStore(Protocol):
    def observe(self, o: Observation, since: datetime) -> tuple[int, list[str]]:
        """Record `o` (once, whatever replays) and answer, in the same transaction, the distinct
        items of its detector and subject observed in (since, o.at], and some events behind them."""
        ...

    def prune(self, before: datetime) -> None: ...


def window_start(at: datetime, minutes: int) -> datetime:
    """The start of the fixed window of `minutes` that `at` falls in (one flag per window)."""
    size = timedelta(minutes=minutes)
    return EPOCH + ((at - EPOCH) // size) * size


def flag_view(flag: FraudFlag) -> dict[str, Any]:
    review = flag.review and {**flag.review, "at": iso(flag.review["at"])}
    return {"id": str(flag.id), "detector": flag.detector, "subject": flag.subject, "status": flag.status,
            "review": review}


class FraudService:
    """Thresholds per merchant, raising flags (for the detector) and reviewing them (support)."""

    def __init__(self, executor: CommandExecutor, ledger: Ledger) -> None:
        self.executor = executor
        self.ledger = ledger

    def thresholds(self, merchant_id: str) -> dict[str, dict[str, int]]:
        rules = self.ledger.read_if_any(FraudRules.id_for(merchant_id), FraudRules)
        return rules.thresholds if rules is not None else default_thresholds()

    def set_thresholds(self, actor: Actor, thresholds: dict[str, Any],
                       idempotency_key: str | None = None) -> CommandResult:
        merchant = actor.merchant_id

        def decide(at: datetime) -> Outcome:
            rules = (self.ledger.find(FraudRules.id_for(merchant), FraudRules)
                     or FraudRules.start(merchant, at))
            rules.set_thresholds(thresholds, actor.ref, at)
            return Outcome(200, {"thresholds": rules.thresholds}, (rules,))

        return self.executor.run(actor=actor, operation="set_fraud_thresholds",
                                 payload={"thresholds": thresholds}, decide=decide,
                                 idempotency_key=idempotency_key, lock_key=FraudRules.id_for(merchant))

    def raise_flag(self, merchant_id: str, detector: str, subject: str, at: datetime, count: int,
                   threshold: int, window_minutes: int, evidence: list[str]) -> bool:
        """Raise the flag for this subject's window unless it is already raised; True if new."""
        start = window_start(at, window_minutes)
        flag_id = FraudFlag.id_for(merchant_id, detector, subject, start)

        def decide(_: datetime) -> Outcome:
            if self.ledger.existing([flag_id]):
                return Outcome(200, {"id": str(flag_id)})
            flag = FraudFlag.raise_flag(merchant_id, detector, subject, start, window_minutes, count,
                                        threshold, evidence, at)
            return Outcome(201, flag_view(flag), (flag,))

        actor = Actor(merchant_id=merchant_id, role="admin", ref=SYSTEM)
        result = self.executor.run(actor=actor, operation="raise_fraud_flag",
                                   payload={"flag": str(flag_id)}, decide=decide, lock_key=flag_id)
        return result.status == 201

    def review(self, actor: Actor, flag_id: UUID, decision: str, note: str,
               idempotency_key: str | None = None) -> CommandResult:
        def decide(at: datetime) -> Outcome:
            flag = self.ledger.find(flag_id, FraudFlag)
            if flag is None or flag.merchant_id != actor.merchant_id:
                raise NotFound("no such fraud flag", code="fraud_flag_not_found")
            flag.review_as(decision, note, actor.ref, at)
            return Outcome(200, flag_view(flag), (flag,))

        return self.executor.run(actor=actor, operation="review_fraud_flag",
                                 payload={"flag": str(flag_id), "decision": decision, "note": note},
                                 decide=decide, idempotency_key=idempotency_key, lock_key=flag_id)


class FraudPolicy:
    """The detectors: observations from redemption events, a flag when a window fills up."""

    name = "fraud"
    topics = (Redemption.Recorded, Redemption.Rejected, Redemption.Reversed)
    PRUNE_EVERY = 1000
    KEEP = timedelta(days=32)  # longer than the longest window a merchant may set

    def __init__(self, service: FraudService, ledger: Ledger, store: ObservationStore) -> None:
        self.service = service
        self.ledger = ledger
        self.store = store
        self._handled = 0

    def handle(self, event: Any, position: int) -> None:
        thresholds: dict[str, dict[str, dict[str, int]]] = {}  # per merchant, read once per event
        for o in self.observations(event):
            if o.merchant_id not in thresholds:
                thresholds[o.merchant_id] = self.service.thresholds(o.merchant_id)
            limits = thresholds[o.merchant_id][o.detector]
            if not limits["count"]:
                continue  # this detector is off for the merchant
            minutes = limits["window_minutes"]
            count, refs = self.store.observe(o, since=o.at - timedelta(minutes=minutes))
            if count >= limits["count"]:
                self.service.raise_flag(o.merchant_id, o.detector, o.subject, o.at, count,
                                        limits["count"], minutes, refs)
        self._handled += 1
        if self._handled % self.PRUNE_EVERY == 0:
            self.store.prune(event.timestamp - self.KEEP)

    def observations(self, e: Any) -> Iterator[Observation]:
        ref = f"{e.originator_id}/{e.originator_version}"
        if isinstance(e, Redemption.Rejected):
            yield from self._rejected(e, ref)
        elif isinstance(e, Redemption.Recorded):
            yield from self._shared_code(e, ref)
            if e.customer_id and e.store_id:
                yield Observation(e.merchant_id, "store_hopping", f"customer:{e.customer_id}", e.store_id,
                                  e.timestamp, ref)
        elif isinstance(e, Redemption.Reversed):
            redemption = self.ledger.read(e.originator_id, Redemption)  # its facts never change
            merchant = redemption.merchant_id
            yield Observation(merchant, "excessive_reversals", f"staff:{e.by}", ref, e.timestamp, ref)
            store = redemption.facts.get("store_id")
            if store:
                yield Observation(merchant, "excessive_reversals", f"store:{store}", ref, e.timestamp, ref)

    def _rejected(self, e: Redemption.Rejected, ref: str) -> Iterator[Observation]:
        if any(r.get("code") == "unknown_code" for r in e.reasons):
            for subject in _who(e.customer_id, e.by):
                yield Observation(e.merchant_id, "code_guessing", subject, ref, e.timestamp, ref)
        else:
            yield from self._shared_code(e, ref)

    def _shared_code(self, e: Any, ref: str) -> Sequence[Observation]:
        """A single-use code tried by a customer: many distinct customers on one code is a leak."""
        if not e.customer_id or e.voucher_id is None:
            return ()
        voucher = self.ledger.read_if_any(e.voucher_id, Voucher)
        if voucher is None or voucher.redemption_limit != 1:
            return ()
        return (Observation(e.merchant_id, "shared_code", f"code:{e.code}", e.customer_id, e.timestamp,
                            ref),)


def _who(customer_id: str | None, by: str | None) -> list[str]:
    """The subjects an attempt counts against: its customer, and the API key that sent it."""
    return ([f"customer:{customer_id}"] if customer_id else []) + ([by] if by else [])
