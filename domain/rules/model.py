"""Campaign rules as values: applicability (C7), usage (C8), per-code limits (V3), cost (C9),
targeting (C11) and validity. Stored inside a campaign's terms; every field has a default, so
terms written before a rule existed still read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from domain.errors import InvalidInput
from domain.segment import SEGMENT_PATTERN

CHANNELS = ("any", "online", "offline")
EXCLUSIVITY = ("combinable", "exclusive", "only_with")
BEARERS = ("group", "store", "split")
VALIDITY = ("fixed", "from_claim", "after_claim")
CLAIM_METHODS = ("any", "customer", "push")  # C6: who may put a voucher in a wallet
PERIODS = ("day", "week", "month", "year")  # natural periods in the merchant's time zone
BASIS_POINTS = 10_000


@dataclass(frozen=True)
class ProductScope:
    """C7: which order lines qualify. No categories and no SKUs = every product."""

    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    exclude_skus: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not (self.categories or self.skus or self.exclude_categories or self.exclude_skus)

    def qualifies(self, sku: str | None, category: str | None) -> bool:
        if sku in self.exclude_skus or (category is not None and category in self.exclude_categories):
            return False
        if not self.categories and not self.skus:
            return True
        return sku in self.skus or (category is not None and category in self.categories)


@dataclass(frozen=True)
class Validity:
    """When a voucher may be used: the campaign's window, from its claim, or X days after it for N days."""

    mode: str = "fixed"
    days_after: int = 0
    duration_days: int | None = None

    def window(self, claimed_at: datetime) -> tuple[datetime | None, datetime | None]:
        """A claimed voucher's own validity; (None, None) when the campaign's window applies."""
        if self.mode == "fixed":
            return None, None
        start = claimed_at + timedelta(days=self.days_after if self.mode == "after_claim" else 0)
        end = start + timedelta(days=self.duration_days) if self.duration_days else None
        return start, end


@dataclass(frozen=True)
class ClaimRules:
    """C6: how vouchers reach wallets. `method`: any, customer (the customer claims; operations
    cannot push) or push (the system pushes only; customers cannot claim). `channel` is where a
    customer may claim. Limits count a customer's vouchers of the campaign, in total and per
    natural day / ISO week (Monday first) / month / year of the merchant's time zone."""

    channel: str = "any"
    method: str = "any"
    total: int | None = None
    per_day: int | None = None
    per_week: int | None = None
    per_month: int | None = None
    per_year: int | None = None

    def limits(self) -> dict[str, int]:
        """The limits set, by period ("total", "day", ...)."""
        found = {"total": self.total, "day": self.per_day, "week": self.per_week,
                 "month": self.per_month, "year": self.per_year}
        return {name: value for name, value in found.items() if value is not None}

    def validate(self) -> ClaimRules:
        _choice("claim.channel", self.channel, CHANNELS)
        _choice("claim.method", self.method, CLAIM_METHODS)
        for name in ("total", "per_day", "per_week", "per_month", "per_year"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or not 1 <= value <= 10**9):
                raise InvalidInput(f"claim.{name} must be 1..10^9", code="invalid_rules")
        return self


@dataclass(frozen=True)
class Rules:
    """Everything beyond the reward that decides whether a voucher applies."""

    products: ProductScope = field(default_factory=ProductScope)
    stores: tuple[str, ...] = ()  # empty: every store
    channel: str = "any"  # usage channel
    days_of_week: tuple[int, ...] = ()  # ISO 1 (Monday) .. 7; empty: every day
    workdays_only: bool = False  # Monday-Friday and not a merchant holiday
    exclusivity: str = "combinable"
    combinable_with: tuple[str, ...] = ()  # campaign keys, when exclusivity is only_with
    segment: str | None = None  # C11: only members of this customer segment
    per_customer_per_code: int | None = None  # V3
    per_order_per_code: int | None = None  # V3
    cost_bearer: str = "group"  # C9: group | store (the redeeming store) | split
    group_share_bp: int = BASIS_POINTS  # the group's share when split, in basis points
    validity: Validity = field(default_factory=Validity)
    claim: ClaimRules = field(default_factory=ClaimRules)  # C6

    def validate(self) -> Rules:
        self.claim.validate()
        _choice("channel", self.channel, CHANNELS)
        _choice("exclusivity", self.exclusivity, EXCLUSIVITY)
        _choice("cost_bearer", self.cost_bearer, BEARERS)
        _choice("validity.mode", self.validity.mode, VALIDITY)
        if any(not isinstance(d, int) or not 1 <= d <= 7 for d in self.days_of_week):
            raise InvalidInput("days_of_week are ISO weekdays 1..7", code="invalid_rules")
        if self.segment is not None and not SEGMENT_PATTERN.fullmatch(self.segment):
            raise InvalidInput("segment: 1-64 of A-Z a-z 0-9 _ . -", code="invalid_rules")
        if not isinstance(self.group_share_bp, int) or not 0 <= self.group_share_bp <= BASIS_POINTS:
            raise InvalidInput("group_share_bp must be 0..10000", code="invalid_rules")
        for name in ("per_customer_per_code", "per_order_per_code"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise InvalidInput(f"{name} must be a positive integer", code="invalid_rules")
        v = self.validity
        if v.days_after < 0 or (v.duration_days is not None and v.duration_days < 1):
            raise InvalidInput("validity days must be positive", code="invalid_rules")
        if v.mode == "after_claim" and v.duration_days is None:
            raise InvalidInput("after_claim validity needs duration_days", code="invalid_rules")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Rules:
        data = dict(data or {})
        try:
            products = data.get("products") or {}
            data["products"] = ProductScope(**{k: _listed(k, v) for k, v in products.items()})
            data["validity"] = Validity(**(data.get("validity") or {}))
            data["claim"] = ClaimRules(**_mapping("claim", data.get("claim") or {}))
            for name in ("stores", "days_of_week", "combinable_with"):
                data[name] = _listed(name, data.get(name) or ())
            known = {f.name for f in fields(cls)}
            unknown = set(data) - known
            if unknown:
                raise TypeError(f"unknown rules {sorted(unknown)}")
            return cls(**data).validate()
        except TypeError as exc:
            raise InvalidInput(f"bad rules: {exc}", code="invalid_rules") from None


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be an object")
    return value


def _listed(name: str, value: Any) -> tuple[Any, ...]:
    """A list of values; a bare string would otherwise become a tuple of its characters."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list")
    return tuple(value)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", code="invalid_rules")
