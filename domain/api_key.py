"""ApiKey aggregate: a hashed credential bound to one merchant and one role; KeyRing: a merchant's keys.

The events are the audit trail of who may call: who issued a key and when, who revoked it, when
and why. Auditors read them through the raw-stream route (the hash is hidden there).
"""

from __future__ import annotations

import hashlib
import hmac
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
        issued_by: str = ""  # the actor (key:<id>, cli:<user>, seed); "" before it was recorded

        def apply(self, key: ApiKey) -> None:
            key.merchant_id = self.merchant_id
            key.role = self.role
            key.key_hash = self.key_hash
            key.prefix = self.prefix
            key.label = self.label
            key.issued_by = self.issued_by

    class Revoked(Aggregate.Event):
        reason: str
        revoked_by: str = ""

        def apply(self, key: ApiKey) -> None:
            key.revoked = True
            key.revoked_at = self.timestamp
            key.revoke_reason = self.reason
            key.revoked_by = self.revoked_by

    def __init__(self) -> None:
        self.merchant_id = ""
        self.role = ""
        self.key_hash = ""
        self.prefix = ""
        self.label = ""
        self.issued_by = ""
        self.revoked = False
        self.revoked_at: datetime | None = None
        self.revoke_reason = ""
        self.revoked_by = ""

    @staticmethod
    def id_for_hash(key_hash: str) -> UUID:
        return global_id("api-key", key_hash)

    @classmethod
    def issue(cls, merchant_id: str, role: str, secret: str, label: str, at: datetime,
              issued_by: str = "") -> ApiKey:
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
            issued_by=issued_by,
            timestamp=at,
        )

    def matches(self, key_hash: str) -> bool:
        """The stored hash equals `key_hash`, compared in constant time."""
        return hmac.compare_digest(self.key_hash.encode(), key_hash.encode())

    def revoke(self, reason: str, at: datetime, revoked_by: str = "") -> None:
        if self.revoked:
            raise InvalidTransition("the key is already revoked")
        self.trigger_event(self.Revoked, reason=reason, revoked_by=revoked_by, timestamp=at)


class KeyRing(Aggregate):
    """The IDs of every key issued to one merchant, so they can be listed without a scan."""

    class Started(Aggregate.Created):
        merchant_id: str

        def apply(self, ring: KeyRing) -> None:
            ring.merchant_id = self.merchant_id

    class Added(Aggregate.Event):
        key_id: str

        def apply(self, ring: KeyRing) -> None:
            ring.key_ids.append(self.key_id)

    def __init__(self) -> None:
        self.merchant_id = ""
        self.key_ids: list[str] = []

    @staticmethod
    def id_for(merchant_id: str) -> UUID:
        return global_id("api-key-ring", merchant_id)

    @classmethod
    def start(cls, merchant_id: str, at: datetime) -> KeyRing:
        return cls._create(cls.Started, id=cls.id_for(merchant_id), merchant_id=merchant_id,
                           timestamp=at)

    def add(self, key: ApiKey, at: datetime) -> None:
        if key.merchant_id != self.merchant_id:
            raise InvalidInput("the key belongs to another merchant", code="invalid_key_ring")
        if str(key.id) not in self.key_ids:
            self.trigger_event(self.Added, key_id=str(key.id), timestamp=at)
