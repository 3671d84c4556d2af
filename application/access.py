"""Merchants and API keys: who may call, for which merchant, in which role."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.commands import Actor
from application.ledger import Ledger
from domain.api_key import ApiKey, hash_secret
from domain.merchant import Merchant

KEY_PREFIX = "pl_"
AUTH_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class IssuedKey:
    secret: str  # shown once, never stored
    key_id: str
    merchant_id: str
    role: str


class AccessService:
    """Registers merchants, issues keys, and resolves a presented key to an Actor."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger = ledger
        self.clock = clock
        self._cache: dict[str, tuple[float, Actor | None]] = {}
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

    def create_key(self, merchant_id: str, role: str, label: str = "", timezone: str = "UTC") -> IssuedKey:
        """A new key for the merchant (registered if new); the secret is returned once."""
        self.register_merchant(merchant_id, timezone=timezone)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey.issue(merchant_id, role, secret, label or role, self.clock())
        self.ledger.save_all(key)
        return IssuedKey(secret=secret, key_id=str(key.id), merchant_id=merchant_id, role=role)

    def authenticate(self, secret: str) -> Actor | None:
        """The actor a key stands for, or None; answers are cached briefly."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 128:
            return None
        key_hash = hash_secret(secret)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key_hash)
        if cached is not None and now - cached[0] < AUTH_CACHE_SECONDS:
            return cached[1]
        key = self.ledger.find(ApiKey.id_for_hash(key_hash), ApiKey)
        actor = None
        if key is not None and not key.revoked:
            actor = Actor(merchant_id=key.merchant_id, role=key.role, ref=f"key:{key.id}")
        with self._cache_lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_hash] = (now, actor)
        return actor
