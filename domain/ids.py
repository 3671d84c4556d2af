"""Deterministic aggregate IDs: uuid5 of (merchant, kind, natural key).

Deriving IDs from natural keys lets the event store's uniqueness on
(originator_id, version=1) reject a second aggregate with the same key, so
"no code issued twice" holds without a lookup table or a hot aggregate.
"""

from __future__ import annotations

import re
import uuid

NAMESPACE = uuid.UUID("5b6f3a2e-9c1d-4e8a-b7f0-2d4c6e8a0b1c")
MERCHANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def derive_id(merchant_id: str, kind: str, natural_key: str) -> uuid.UUID:
    """The ID of the `kind` aggregate named `natural_key` within one merchant."""
    # merchant ids and kinds never contain "/", so the joined name is unambiguous.
    return uuid.uuid5(NAMESPACE, f"{merchant_id}/{kind}/{natural_key}")


def global_id(kind: str, natural_key: str) -> uuid.UUID:
    """The ID of an aggregate that is not scoped to a merchant (merchants, API keys)."""
    return uuid.uuid5(NAMESPACE, f"/{kind}/{natural_key}")
