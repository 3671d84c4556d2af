"""Merchants and API keys: who may call, for which merchant, in which role.

Key lifecycle: issue (the secret is returned once and never stored, only its SHA-256), list,
revoke with a reason. A revoked key stops working at once in the process that revoked it (its
cached answer is dropped) and within AUTH_CACHE_SECONDS in every other process.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.commands import Actor, CommandExecutor, CommandResult, Outcome
from application.ledger import Ledger
from domain.api_key import ApiKey, KeyRing, hash_secret
from domain.clock import iso
from domain.errors import InvalidTransition, NotFound
from domain.merchant import Merchant

KEY_PREFIX = "pl_"
MAX_KEY_LENGTH = 128
# How long another process may still admit a key revoked elsewhere (this one forgets at once).
AUTH_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class IssuedKey:
    secret: str  # shown once, never stored
    key_id: str
    merchant_id: str
    role: str


def well_formed(secret: str) -> bool:
    """Could this be one of our keys? (Anything else is refused without a look-up.)"""
    return secret.startswith(KEY_PREFIX) and len(secret) <= MAX_KEY_LENGTH


def key_view(key: ApiKey) -> dict[str, Any]:
    """What admins see of a key: never its secret or hash."""
    return {"id": str(key.id), "prefix": key.prefix, "role": key.role, "label": key.label,
            "created_at": iso(key.created_on), "created_by": key.issued_by,
            "revoked": key.revoked, "revoked_at": iso(key.revoked_at),
            "revoked_by": key.revoked_by or None, "revoke_reason": key.revoke_reason or None}


class AccessService:
    """Registers merchants, issues and revokes keys, and resolves a presented key to an Actor."""

    def __init__(self, ledger: Ledger, clock: Clock, executor: CommandExecutor | None = None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.executor = executor or CommandExecutor(ledger, clock)
        self._cache: dict[str, tuple[float, Actor | None]] = {}
        self._revoked: set[str] = set()  # revoked here: never cached as valid again
        self._cache_lock = threading.Lock()

    def register_merchant(self, merchant_id: str, name: str = "", timezone: str = "UTC") -> Merchant:
        """The merchant, registering it first if it is new (safe to call twice)."""
        existing = self.ledger.find(Merchant.id_for(merchant_id), Merchant)
        if existing is not None:
            return existing
        merchant = Merchant.register(merchant_id, name, timezone, self.clock())
        try:
            self.ledger.save_all(merchant)
        except IntegrityError:
            return self.ledger.load(merchant.id, Merchant)  # registered concurrently
        return merchant

    def find_merchant(self, merchant_id: str) -> Merchant | None:
        return self.ledger.find(Merchant.id_for(merchant_id), Merchant)

    # -- issue, list, revoke ----------------------------------------------------------------------

    def create_key(self, merchant_id: str, role: str, label: str = "", timezone: str = "UTC",
                   issued_by: str = "system") -> IssuedKey:
        """A new key for the merchant (registered if new); the secret is returned once."""
        self.register_merchant(merchant_id, timezone=timezone)
        actor = Actor(merchant_id=merchant_id, role="admin", ref=issued_by)
        result, secret = self.issue_key(actor, role, label)
        return IssuedKey(secret=secret or "", key_id=result.body["id"], merchant_id=merchant_id,
                         role=role)

    def issue_key(self, actor: Actor, role: str, label: str = "",
                  idempotency_key: str | None = None) -> tuple[CommandResult, str | None]:
        """A new key of the caller's merchant, and its secret — None when the answer is a replay:
        the secret exists only in the first answer (the stored answer never holds it)."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)

        def decide(at: datetime) -> Outcome:
            key = ApiKey.issue(actor.merchant_id, role, secret, label or role, at, issued_by=actor.ref)
            ring = self._ring(actor.merchant_id) or KeyRing.start(actor.merchant_id, at)
            ring.add(key, at)
            return Outcome(201, key_view(key), (key, ring))

        result = self.executor.run(actor=actor, operation="issue_api_key",
                                   payload={"role": role, "label": label}, decide=decide,
                                   idempotency_key=idempotency_key)
        return result, None if result.replayed else secret

    def list_keys(self, merchant_id: str) -> list[dict[str, Any]]:
        """Every key issued to the merchant (through its key ring), oldest first."""
        ring = self._ring(merchant_id)
        keys = [self.ledger.find(uuid.UUID(key_id), ApiKey) for key_id in (ring.key_ids if ring else [])]
        return [key_view(key) for key in keys if key is not None]

    def revoke_key(self, actor: Actor, key_id: uuid.UUID, reason: str,
                   idempotency_key: str | None = None) -> CommandResult:
        """Revoke one of the caller's merchant's keys; it stops authenticating (see module doc)."""
        found: list[ApiKey] = []

        def decide(at: datetime) -> Outcome:
            key = self._own_key(actor.merchant_id, key_id)
            found[:] = [key]
            key.revoke(reason, at, revoked_by=actor.ref)
            return Outcome(200, key_view(key), (key,))

        try:
            result = self.executor.run(actor=actor, operation="revoke_api_key",
                                       payload={"key_id": str(key_id), "reason": reason}, decide=decide,
                                       idempotency_key=idempotency_key, lock_key=key_id)
        except InvalidTransition:  # revoked before (maybe by another process): forget it here too
            for key in found:
                self.forget(key.key_hash)
            raise
        for key in found:
            self.forget(key.key_hash)
        return result

    def forget(self, key_hash: str) -> None:
        """Drop a cached authentication (after a revocation), and never cache it as valid again:
        an authentication that read the key just before the revocation cannot re-cache it."""
        with self._cache_lock:
            self._cache.pop(key_hash, None)
            if len(self._revoked) > 10_000:
                self._revoked.clear()  # the store says "revoked" anyway; this only closes a race
            self._revoked.add(key_hash)

    def _own_key(self, merchant_id: str, key_id: uuid.UUID) -> ApiKey:
        key = self.ledger.find(key_id, ApiKey)
        if key is None or key.merchant_id != merchant_id:
            raise NotFound("no such API key", code="api_key_not_found")
        return key

    def _ring(self, merchant_id: str) -> KeyRing | None:
        return self.ledger.find(KeyRing.id_for(merchant_id), KeyRing)

    # -- authentication ---------------------------------------------------------------------------

    def authenticate(self, secret: str) -> Actor | None:
        """The actor a key stands for, or None; answers are cached briefly."""
        if not well_formed(secret):
            return None
        key_hash = hash_secret(secret)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key_hash)
        if cached is not None and now - cached[0] < AUTH_CACHE_SECONDS:
            return cached[1]
        # The ID derives from the hash, so the look-up itself reveals nothing about stored keys;
        # the stored hash is still compared in constant time before the key is trusted.
        key = self.ledger.find(ApiKey.id_for_hash(key_hash), ApiKey)
        actor = None
        if key is not None and key.matches(key_hash) and not key.revoked:
            actor = Actor(merchant_id=key.merchant_id, role=key.role, ref=f"key:{key.id}")
        with self._cache_lock:
            if key_hash in self._revoked:
                actor = None
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_hash] = (now, actor)
        return actor
