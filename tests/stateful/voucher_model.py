"""The voucher machine's model: what the campaign, its codes, holds and redemptions should be.

Plain Python, written from the requirements (C4 stock, C6 claims, V3/V4 limits, R1-R4, R7 holds),
not from the services: the machine compares every answer and every read with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DISCOUNT = 500  # the campaign's amount off; orders are larger, so it is given in full
# Known today (tests/stateful/test_findings.py): with both per-customer limits and no customer,
# `customer_required` is given twice (and counted twice in the campaign's rejections by reason).
CUSTOMER_REQUIRED_TWICE = True


@dataclass
class HoldModel:
    id: str
    code: str
    customer: str | None
    expires_at: datetime
    status: str = "held"  # held, confirmed, cancelled (lapsed is judged at a time)

    def status_at(self, at: datetime) -> str:
        return "lapsed" if self.status == "held" and at >= self.expires_at else self.status


@dataclass
class CodeModel:
    code: str
    holder: str | None = None
    valid_until: datetime | None = None
    uses: dict[str, str | None] = field(default_factory=dict)  # redemption in force -> customer
    holds: dict[str, HoldModel] = field(default_factory=dict)  # placed, neither confirmed nor cancelled


@dataclass
class RedemptionModel:
    id: str
    code: str
    customer: str | None
    status: str  # redeemed, rejected, reversed


@dataclass
class CampaignModel:
    key: str
    limit: int  # uses per code
    per_customer: int | None  # redemptions per customer in the campaign
    stock: int
    claim_total: int | None  # vouchers a customer may get (claims, pushes, assignments)
    ends_at: datetime
    validity_days: int | None  # a claimed or assigned voucher's own validity
    per_code_customer: int | None = None  # V3: uses of one code by one customer
    status: str = "active"
    issued: int = 0
    codes: dict[str, CodeModel] = field(default_factory=dict)
    redemptions: dict[str, RedemptionModel] = field(default_factory=dict)
    holds: dict[str, HoldModel] = field(default_factory=dict)
    usage: Counter[str] = field(default_factory=Counter)  # uses in force per customer
    claims: Counter[str] = field(default_factory=Counter)
    assigned: int = 0
    redeemed: int = 0
    reversed: int = 0
    rejected: int = 0
    rejections: Counter[str] = field(default_factory=Counter)

    @property
    def remaining(self) -> int:
        return self.stock - self.issued

    def terms(self) -> dict[str, object]:
        validity = ({"mode": "from_claim", "duration_days": self.validity_days}
                    if self.validity_days else {"mode": "fixed"})
        return {"name": "Stateful", "currency": "EUR",
                "reward": {"type": "amount_off", "amount": DISCOUNT},
                "voucher_type": "multi_use", "redemption_limit": self.limit,
                "per_customer_limit": self.per_customer, "stock": self.stock, "ends_at": self.ends_at,
                "rules": {"claim": {"total": self.claim_total}, "validity": validity,
                          "per_customer_per_code": self.per_code_customer}}

    # -- what the campaign would refuse ------------------------------------------------------

    def campaign_reasons(self, at: datetime) -> list[str]:
        if self.status == "ended":
            return ["campaign_ended"]
        return ["campaign_expired"] if at >= self.ends_at else []

    def claim_refusals(self, customer: str, at: datetime, *, by_customer: bool) -> list[str]:
        """C6: a customer's own claim judges the campaign and its stock; every way counts limits."""
        reasons = []
        if by_customer:
            reasons += self.campaign_reasons(at)
            if self.remaining == 0:
                reasons.append("stock_exhausted")
        if self.claim_total is not None and self.claims[customer] >= self.claim_total:
            reasons.append("claim_limit_total")
        return reasons

    def issue_refusal(self, count: int) -> str | None:
        if self.status == "ended":
            return "campaign_closed"
        return "stock_exhausted" if count > self.remaining else None

    def redemption_reasons(self, code: CodeModel, customer: str | None, currency: str, at: datetime,
                           hold_id: str | None = None) -> list[str]:
        """R1/R2: every reason the code gives no discount to this attempt, in the decision's order."""
        reasons = self.campaign_reasons(at)
        uses = len(code.uses)
        held = sum(1 for h in code.holds.values() if h.status_at(at) == "held" and h.id != hold_id)
        if uses < self.limit <= uses + held:
            reasons.append("voucher_held")
        elif uses >= self.limit:
            reasons.append("voucher_already_redeemed" if self.limit == 1 else "redemption_limit_reached")
        if code.holder is not None and code.holder != customer:
            reasons.append("voucher_not_owned")
        if code.valid_until is not None and at >= code.valid_until:
            reasons.append("voucher_expired")
        if self.per_code_customer is not None and customer is not None \
                and list(code.uses.values()).count(customer) >= self.per_code_customer:
            reasons.append("code_customer_limit_reached")
        limits = [n for n in (self.per_code_customer, self.per_customer) if n is not None]
        if customer is None and limits:  # once, whichever limit asks for a customer
            reasons += ["customer_required"] * (len(limits) if CUSTOMER_REQUIRED_TWICE else 1)
        # uses in force; holds do not count (tests/stateful/test_findings)
        if self.per_customer is not None and customer is not None \
                and self.usage[customer] >= self.per_customer:
            reasons.append("customer_limit_reached")
        if currency != "EUR":
            reasons.append("currency_mismatch")
        return reasons

    # -- what happened -----------------------------------------------------------------------

    def new_code(self, code: str, holder: str | None, at: datetime) -> None:
        self.issued += 1
        self.codes[code] = CodeModel(code)
        if holder is not None:
            self.give(code, holder, at)

    def give(self, code: str, customer: str, at: datetime) -> None:
        self.codes[code].holder = customer
        if self.validity_days:
            self.codes[code].valid_until = at + timedelta(days=self.validity_days)
        self.claims[customer] += 1
        self.assigned += 1

    def redeemed_now(self, redemption_id: str, code: str, customer: str | None) -> None:
        self.codes[code].uses[redemption_id] = customer
        if self.per_customer is not None and customer is not None:
            self.usage[customer] += 1
        self.redemptions[redemption_id] = RedemptionModel(redemption_id, code, customer, "redeemed")
        self.redeemed += 1

    def rejected_now(self, redemption_id: str, code: str, customer: str | None, reasons: list[str]
                     ) -> None:
        self.redemptions[redemption_id] = RedemptionModel(redemption_id, code, customer, "rejected")
        self.rejected += 1
        self.rejections.update(reasons)

    def reversed_now(self, redemption_id: str) -> None:
        redemption = self.redemptions[redemption_id]
        redemption.status = "reversed"
        del self.codes[redemption.code].uses[redemption_id]
        if self.per_customer is not None and redemption.customer is not None:
            self.usage[redemption.customer] -= 1
        self.reversed += 1

    def stats(self) -> dict[str, object]:
        """What `GET /campaigns/{key}/stats` should say."""
        return {"status": self.status, "stock": self.stock, "issued": self.issued,
                "remaining": self.remaining, "assigned": self.assigned, "redeemed": self.redeemed,
                "reversed": self.reversed, "rejected": self.rejected,
                "net_redeemed": self.redeemed - self.reversed,
                "discount_total": DISCOUNT * (self.redeemed - self.reversed),
                "rejections_by_reason": dict(sorted(self.rejections.items()))}

    def wallet(self, customer: str, at: datetime) -> list[tuple[str, int, bool]]:
        """(code, uses in force, expired) of each voucher the customer holds."""
        held = []
        for code in self.codes.values():
            if code.holder == customer:
                ends = min(t for t in (self.ends_at, code.valid_until) if t is not None)
                expired = self.status == "ended" or at >= ends
                held.append((code.code, len(code.uses), expired))
        return sorted(held)
