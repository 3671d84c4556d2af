"""IdempotencyRecord aggregate: the first answer to a command, saved atomically with its effects (R5, B5)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput
from domain.ids import derive_id


def request_hash(operation: str, payload: Any) -> str:
    """A stable hash of what was asked: the operation and its normalised arguments."""
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidInput("Idempotency-Key: 1-255 printable characters", code="invalid_idempotency_key")
    return key


class IdempotencyRecord(Aggregate):
    """Created in the same transaction as the command's events, so "applied once" is atomic."""

    class Recorded(Aggregate.Created):
        merchant_id: str
        key: str
        operation: str
        request_hash: str
        status: int
        response: dict[str, Any]

        def apply(self, record: IdempotencyRecord) -> None:
            record.request_hash = self.request_hash
            record.status = self.status
            record.response = self.response

    def __init__(self) -> None:
        self.request_hash = ""
        self.status = 0
        self.response: dict[str, Any] = {}

    @staticmethod
    def id_for(merchant_id: str, key: str) -> UUID:
        return derive_id(merchant_id, "idempotency", key)

    @classmethod
    def record(
        cls, merchant_id: str, key: str, operation: str, hashed: str, status: int,
        response: dict[str, Any], at: datetime,
    ) -> IdempotencyRecord:
        return cls._create(
            cls.Recorded,
            id=cls.id_for(merchant_id, key),
            merchant_id=merchant_id,
            key=key,
            operation=operation,
            request_hash=hashed,
            status=status,
            response=response,
            timestamp=at,
        )
