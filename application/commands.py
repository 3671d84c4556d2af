"""Running a command: idempotently, atomically, with bounded retries on version conflicts."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.ledger import Ledger
from domain.errors import DomainError
from domain.idempotency import IdempotencyRecord, check_key, request_hash

log = logging.getLogger(__name__)


class ConcurrencyConflict(DomainError):
    """Other writers kept winning; the caller may retry with the same Idempotency-Key."""

    kind = "conflict"
    code = "concurrent_update"


class IdempotencyKeyReused(DomainError):
    """The key was used before for a different request."""

    kind = "invalid"
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Actor:
    """Who issued a command: a merchant's API key and its role (or the CLI)."""

    merchant_id: str
    role: str
    ref: str


@dataclass(frozen=True)
class Outcome:
    """What a decision produced: the answer, and the aggregates whose events make it true."""

    status: int
    body: dict[str, Any]
    aggregates: tuple[Aggregate | None, ...] = field(default=())


@dataclass(frozen=True)
class CommandResult:
    status: int
    body: dict[str, Any]
    position: int
    replayed: bool = False


class CommandExecutor:
    """Load → decide → save together; conflicts reload and decide again, a bounded number of times."""

    def __init__(self, ledger: Ledger, clock: Clock, *, max_attempts: int = 30) -> None:
        self.ledger = ledger
        self.clock = clock
        self.max_attempts = max_attempts
        # Commands on the same aggregate in one process queue here instead of
        # conflicting in the store; across processes optimistic concurrency decides.
        self._locks = [threading.Lock() for _ in range(128)]
        # Observers (metrics; never business logic): told of every retry after a version
        # conflict, and of every command decided and saved here (replays excluded).
        self.on_conflict: list[Callable[[str], None]] = []
        self.on_completed: list[Callable[[str, CommandResult], None]] = []

    def run(
        self,
        *,
        actor: Actor,
        operation: str,
        payload: Any,
        decide: Callable[[datetime], Outcome],
        idempotency_key: str | None = None,
        lock_key: UUID | None = None,
    ) -> CommandResult:
        hashed = request_hash(operation, payload)
        key = check_key(idempotency_key) if idempotency_key is not None else None
        lock = self._locks[hash(lock_key) % len(self._locks)] if lock_key else None
        if lock is not None:
            with lock:
                return self._attempts(actor, operation, hashed, key, decide)
        return self._attempts(actor, operation, hashed, key, decide)

    def _attempts(
        self, actor: Actor, operation: str, hashed: str, key: str | None,
        decide: Callable[[datetime], Outcome],
    ) -> CommandResult:
        # Optimistic: the stored answer is looked for only when something refuses, because
        # a retried request finds its effects applied (a refusal) or its record's ID taken.
        for attempt in range(self.max_attempts):
            at = self.clock()
            try:
                outcome = decide(at)
            except DomainError:
                replay = self._replay(actor.merchant_id, key, hashed) if key is not None else None
                if replay is not None:
                    return replay
                raise
            record = None
            if key is not None:
                record = IdempotencyRecord.record(
                    actor.merchant_id, key, operation, hashed, outcome.status, outcome.body, at
                )
            try:
                position = self.ledger.save_all(*outcome.aggregates, record)
            except IntegrityError:
                # Someone saved first: a version conflict, or this key's record exists.
                replay = self._replay(actor.merchant_id, key, hashed) if key is not None else None
                if replay is not None:
                    return replay
                self._observe(self.on_conflict, operation)
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
                continue
            result = CommandResult(outcome.status, outcome.body, position)
            self._observe(self.on_completed, operation, result)
            return result
        log.warning("%s gave up after %d conflicting attempts", operation, self.max_attempts)
        raise ConcurrencyConflict(
            "the resource is under heavy concurrent use; retry with the same Idempotency-Key",
            retryable=True,
        )

    @staticmethod
    def _observe(observers: Iterable[Callable[..., None]], *args: Any) -> None:
        for observer in observers:
            try:
                observer(*args)
            except Exception:  # the command is saved: a failing observer must not turn it into an error
                log.exception("command observer failed")

    def _replay(self, merchant_id: str, key: str, hashed: str) -> CommandResult | None:
        record_id = IdempotencyRecord.id_for(merchant_id, key)
        record = self.ledger.find(record_id, IdempotencyRecord)
        if record is None:
            return None
        if record.request_hash != hashed:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request", key=key
            )
        position = self.ledger.position_of(record_id, 1) or self.ledger.head()
        return CommandResult(record.status, record.response, position, replayed=True)
