"""ApiKey aggregate: a hashed credential bound to one merchant and one role."""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, InvalidTransition
from domain.ids import global_id

ROLES = ("admin", "operations", "checkout", "support", "auditor", "reporting")


def hash_secret(secret: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough: no dictionary to attack.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(Aggregate):
    """Only the hash of the key is stored; its ID is derived from the hash for O(1) look-up."""

    class Issued(Aggregate.Created):
        merchant_id: str
        role: str
        key_hash: str
        prefix: str
        label: str

        def apply(self, key: ApiKey) -> None:
            key.merchant_id = self.merchant_id
            key.role = self.role
            key.prefix = self.prefix
            key.label = self.label

    class Revoked(Aggregate.Event):
        reason: str

        def apply(self, key: ApiKey) -> None:
            key.revoked = True

    def __init__(self) -> None:
        self.merchant_id = ""
        self.role = ""
        self.prefix = ""
        self.label = ""
        self.revoked = False

    @staticmethod
    def id_for_hash(key_hash: str) -> UUID:
        return global_id("api-key", key_hash)

    @classmethod
    def issue(cls, merchant_id: str, role: str, secret: str, label: str, at: datetime) -> ApiKey:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
        key_hash = hash_secret(secret)
        return cls._create(
            cls.Issued,
            id=cls.id_for_hash(key_hash),
            merchant_id=merchant_id,
            role=role,
            key_hash=key_hash,
            prefix=secret[:10],
            label=label,
            timestamp=at,
        )

    def revoke(self, reason: str, at: datetime) -> None:
        if self.revoked:
            raise InvalidTransition("the key is already revoked")
        self.trigger_event(self.Revoked, reason=reason, timestamp=at)
