"""Fraud flags (A4): what a detector saw, and the support review that settles it.

A flag is raised once per detector x subject x window: its ID derives from them, so a
detector that sees the same burst again (a replay, a second runner) cannot raise it twice.
Review is a workflow: open → dismissed or confirmed, each with who and why; nothing is
deleted, a review is an event that names the flag.

`FraudRules` holds a merchant's thresholds: how many of what, within how many minutes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import derive_id

# detector -> (what is counted, default threshold, default window in minutes)
DETECTORS: dict[str, tuple[str, int, int]] = {
    # unknown codes tried by one customer (or, without one, one API key): code guessing
    "code_guessing": ("failed attempts with unknown codes", 20, 10),
    # one code tried by many customers (a leaked single-use code)
    "shared_code": ("distinct customers trying one code", 5, 60),
    # one customer redeeming at several stores in a short time
    "store_hopping": ("distinct stores one customer redeemed at", 3, 60),
    # reversals by one staff member or at one store
    "excessive_reversals": ("reversals by one staff member or store", 10, 24 * 60),
}
MAX_EVIDENCE = 50  # references kept on a flag (the count is exact)


class FlagStatus:
    OPEN = "open"
    DISMISSED = "dismissed"
    CONFIRMED = "confirmed"


def default_thresholds() -> dict[str, dict[str, int]]:
    return {name: {"count": count, "window_minutes": window}
            for name, (_, count, window) in DETECTORS.items()}


def check_thresholds(thresholds: dict[str, Any], current: dict[str, dict[str, int]] | None = None
                     ) -> dict[str, dict[str, int]]:
    """`current` (or the defaults) changed by `thresholds`.

    Counts 0 (off) .. 1,000,000; windows 1 minute .. 31 days."""
    checked = {**default_thresholds(), **(current or {})}
    for name, value in thresholds.items():
        if name not in DETECTORS:
            raise InvalidInput(f"unknown detector {name!r}; known: {', '.join(DETECTORS)}",
                               code="unknown_detector")
        if not isinstance(value, dict) or set(value) - {"count", "window_minutes"}:
            raise InvalidInput(f"{name}: give count and/or window_minutes", code="invalid_threshold")
        merged = {**checked[name], **value}
        count, window = merged["count"], merged["window_minutes"]
        if not _int_in(count, 0, 1_000_000) or not _int_in(window, 1, 31 * 24 * 60):
            raise InvalidInput(f"{name}: count 0..1000000 (0 = off), window_minutes 1..44640",
                               code="invalid_threshold")
        checked[name] = {"count": count, "window_minutes": window}
    return checked


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


class FraudRules(Aggregate):
    """A merchant's detector thresholds (defaults until set)."""

    class Started(Aggregate.Created):
        merchant_id: str

        def apply(self, rules: FraudRules) -> None:
            rules.merchant_id = self.merchant_id

    class ThresholdsSet(Aggregate.Event):
        thresholds: dict[str, dict[str, int]]
        by: str

        def apply(self, rules: FraudRules) -> None:
            rules.thresholds = self.thresholds

    def __init__(self) -> None:
        self.merchant_id = ""
        self.thresholds = default_thresholds()

    @staticmethod
    def id_for(merchant_id: str) -> UUID:
        return derive_id(merchant_id, "fraud-rules", "thresholds")

    @classmethod
    def start(cls, merchant_id: str, at: datetime) -> FraudRules:
        return cls._create(cls.Started, id=cls.id_for(merchant_id), merchant_id=merchant_id, timestamp=at)

    def set_thresholds(self, thresholds: dict[str, Any], by: str, at: datetime) -> None:
        self.trigger_event(self.ThresholdsSet, thresholds=check_thresholds(thresholds, self.thresholds),
                           by=by, timestamp=at)


class FraudFlag(Aggregate):
    """One detector's finding about one subject in one window, and its review."""

    class Raised(Aggregate.Created):
        merchant_id: str
        detector: str
        subject: str  # "customer:alice", "key:<id>", "code:ABC", "staff:key:<id>", "store:S1"
        window_start: datetime
        window_minutes: int
        count: int
        threshold: int
        evidence: list[str]  # event references (originator/version), at most MAX_EVIDENCE

        def apply(self, flag: FraudFlag) -> None:
            flag.merchant_id, flag.detector, flag.subject = self.merchant_id, self.detector, self.subject
            flag.status = FlagStatus.OPEN

    class Reviewed(Aggregate.Event):
        """Support's decision: dismissed (a false alarm) or confirmed, with who and why."""

        decision: str
        note: str
        by: str

        def apply(self, flag: FraudFlag) -> None:
            flag.status = self.decision
            flag.review = {"decision": self.decision, "note": self.note, "by": self.by,
                           "at": self.timestamp}

    def __init__(self) -> None:
        self.merchant_id = ""
        self.detector = ""
        self.subject = ""
        self.status = ""
        self.review: dict[str, Any] | None = None

    @staticmethod
    def id_for(merchant_id: str, detector: str, subject: str, window_start: datetime) -> UUID:
        return derive_id(merchant_id, "fraud-flag", f"{detector}|{subject}|{window_start.isoformat()}")

    @classmethod
    def raise_flag(cls, merchant_id: str, detector: str, subject: str, window_start: datetime,
                   window_minutes: int, count: int, threshold: int, evidence: list[str],
                   at: datetime) -> FraudFlag:
        if detector not in DETECTORS:
            raise InvalidInput(f"unknown detector {detector!r}", code="unknown_detector")
        return cls._create(cls.Raised, id=cls.id_for(merchant_id, detector, subject, window_start),
                           merchant_id=merchant_id, detector=detector, subject=subject,
                           window_start=window_start, window_minutes=window_minutes, count=count,
                           threshold=threshold, evidence=evidence[:MAX_EVIDENCE], timestamp=at)

    def review_as(self, decision: str, note: str, by: str, at: datetime) -> None:
        if decision not in (FlagStatus.DISMISSED, FlagStatus.CONFIRMED):
            raise InvalidInput("decision is dismissed or confirmed", code="invalid_decision")
        note = note.strip()
        if not note or len(note) > 1000:
            raise InvalidInput("a note of 1-1000 characters is required", code="note_required")
        if self.status != FlagStatus.OPEN:
            raise InvalidTransition(f"the flag is already {self.status}", code="flag_already_reviewed")
        self.trigger_event(self.Reviewed, decision=decision, note=note, by=by, timestamp=at)
