"""Campaign aggregate: terms, review lifecycle (C3), stock (C4) and reward (C5)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.clock import require_utc
from domain.codes import CodeSpec
from domain.errors import InvalidInput, InvalidTransition
from domain.ids import derive_id
from domain.money import check_currency
from domain.rewards import Reward, reward_from_dict, reward_to_dict
from domain.rules.model import Rules

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
URL_PATTERN = re.compile(r"https?://[^\s]{1,2000}")
SINGLE_USE, MULTI_USE = "single_use", "multi_use"
MAX_CODES_PER_REQUEST = 10_000


class Status:
    """Campaign lifecycle states."""

    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    ENDED = "ended"
    DISABLED = "disabled"


@dataclass(frozen=True)
class CampaignTerms:
    """Everything operations decide about a campaign; revised only before approval."""

    name: str
    currency: str
    reward: Reward
    voucher_type: str = SINGLE_USE
    redemption_limit: int | None = 1  # per code; None = unlimited (multi-use only)
    per_customer_limit: int | None = None
    stock: int | None = None  # how many vouchers may be issued; None = unlimited
    budget: int | None = None  # C4: stock derived as budget // the reward's unit cost
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    description: str = ""
    image_url: str | None = None  # C10: shown to customers
    redirect_url: str | None = None  # C10: where a claim sends the customer
    internal_remarks: str = ""  # C10: for staff; never on customer-facing endpoints
    code_spec: CodeSpec = field(default_factory=CodeSpec)
    rules: Rules = field(default_factory=Rules)

    def validate(self) -> CampaignTerms:
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInput("name must be 1-200 characters", code="invalid_name")
        check_currency(self.currency)
        self.reward.validate()
        self.code_spec.validate()
        if self.voucher_type not in (SINGLE_USE, MULTI_USE):
            raise InvalidInput("voucher_type is single_use or multi_use", code="invalid_voucher_type")
        if self.voucher_type == SINGLE_USE and self.redemption_limit != 1:
            return replace(self, redemption_limit=1).validate()
        if self.budget is not None:
            return self._within_budget(self.budget)._validate_rest()
        return self._validate_rest()

    def _within_budget(self, budget: int) -> CampaignTerms:
        """C4: the stock a budget buys at the reward's unit cost; a stock given must fit in it."""
        if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 10**15:
            raise InvalidInput("budget must be 1..10^15 minor units", code="invalid_budget")
        unit_cost = self.reward.unit_cost
        if not unit_cost:
            raise InvalidInput(
                f"a {self.reward.type} reward has no unit cost to divide a budget by "
                "(percent off: give list_price or max_discount; partner code: give cost)",
                code="unit_cost_unknown")
        affordable = budget // unit_cost
        if affordable < 1:
            raise InvalidInput(f"the budget does not cover one unit at {unit_cost}",
                               code="budget_too_small", unit_cost=unit_cost)
        if self.stock is not None and self.stock > affordable:
            raise InvalidInput(f"a stock of {self.stock} costs more than the budget buys "
                               f"({affordable} at {unit_cost})", code="stock_exceeds_budget",
                               affordable=affordable, unit_cost=unit_cost)
        return replace(self, stock=self.stock if self.stock is not None else affordable)

    def _validate_rest(self) -> CampaignTerms:
        for name in ("redemption_limit", "per_customer_limit", "stock"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**12
            ):
                raise InvalidInput(f"{name} must be 1..10^12", code="invalid_limit", field=name)
        starts = self.starts_at and require_utc(self.starts_at, "starts_at")
        ends = self.ends_at and require_utc(self.ends_at, "ends_at")
        if starts and ends and ends <= starts:
            raise InvalidInput("ends_at must be after starts_at", code="invalid_window")
        if self.stock is not None:
            self.code_spec.check_room_for(self.stock)
        self.rules.validate()
        return replace(self, starts_at=starts, ends_at=ends)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "currency": self.currency,
            "reward": reward_to_dict(self.reward),
            "voucher_type": self.voucher_type,
            "redemption_limit": self.redemption_limit,
            "per_customer_limit": self.per_customer_limit,
            "stock": self.stock,
            "budget": self.budget,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "description": self.description,
            "image_url": self.image_url,
            "redirect_url": self.redirect_url,
            "internal_remarks": self.internal_remarks,
            "code_spec": self.code_spec.to_dict(),
            "rules": self.rules.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignTerms:
        fields = dict(data)
        fields["reward"] = reward_from_dict(dict(fields.get("reward") or {}))
        fields["code_spec"] = CodeSpec.from_dict(dict(fields.get("code_spec") or {}))
        fields["rules"] = Rules.from_dict(fields.get("rules"))
        try:
            return cls(**fields)
        except TypeError as exc:
            raise InvalidInput(f"bad campaign terms: {exc}", code="invalid_terms") from None


class Campaign(Aggregate):
    """A promotion with its terms; vouchers and redemptions refer to it by ID and version."""

    class Created(Aggregate.Created):
        merchant_id: str
        key: str
        terms: dict[str, Any]
        by: str
        template_code: str | None = None  # C2: merchant + YYYYMMDD + per-day serial
        parent_id: UUID | None = None  # C1: the main campaign this one belongs to

        def apply(self, campaign: Campaign) -> None:
            campaign.merchant_id = self.merchant_id
            campaign.key = self.key
            campaign.terms = CampaignTerms.from_dict(self.terms)
            campaign.template_code = self.template_code
            campaign.parent_id = self.parent_id

    class Revised(Aggregate.Event):
        terms: dict[str, Any]
        by: str

        def apply(self, campaign: Campaign) -> None:
            campaign.terms = CampaignTerms.from_dict(self.terms)
            campaign.status = Status.DRAFT

    class Submitted(Aggregate.Event):
        by: str

        def apply(self, campaign: Campaign) -> None:
            campaign.status = Status.PENDING_REVIEW

    class Approved(Aggregate.Event):
        by: str

        def apply(self, campaign: Campaign) -> None:
            campaign.status = Status.APPROVED

    class Rejected(Aggregate.Event):
        by: str
        reason: str

        def apply(self, campaign: Campaign) -> None:
            campaign.status = Status.REJECTED

    class Activated(Aggregate.Event):
        by: str

        def apply(self, campaign: Campaign) -> None:
            campaign.status = Status.ACTIVE

    class Ended(Aggregate.Event):
        by: str

        def apply(self, campaign: Campaign) -> None:
            campaign.status = Status.ENDED

    class Disabled(Aggregate.Event):
        by: str
        reason: str

        def apply(self, campaign: Campaign) -> None:
            campaign.status = Status.DISABLED

    class VouchersIssued(Aggregate.Event):
        count: int

        def apply(self, campaign: Campaign) -> None:
            campaign.issued += self.count

    def __init__(self) -> None:
        self.merchant_id = ""
        self.key = ""
        self.terms: CampaignTerms
        self.status = Status.DRAFT
        self.issued = 0
        self.template_code: str | None = None
        self.parent_id: UUID | None = None

    @staticmethod
    def id_for(merchant_id: str, key: str) -> UUID:
        return derive_id(merchant_id, "campaign", key)

    @classmethod
    def create(
        cls, merchant_id: str, key: str, terms: CampaignTerms, by: str, at: datetime, *,
        template_code: str | None = None, parent: Campaign | None = None,
    ) -> Campaign:
        """A new campaign in draft; a sub-campaign of `parent` when given (two levels, C1)."""
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidInput("key: 1-64 of A-Z a-z 0-9 _ . -", code="invalid_campaign_key")
        if parent is not None and parent.parent_id is not None:
            raise InvalidInput("a sub-campaign cannot have sub-campaigns", code="invalid_parent")
        for url in (terms.image_url, terms.redirect_url):
            if url is not None and not URL_PATTERN.fullmatch(url):
                raise InvalidInput("image and redirect URLs are http(s) URLs", code="invalid_url")
        return cls._create(
            cls.Created,
            id=cls.id_for(merchant_id, key),
            merchant_id=merchant_id,
            key=key,
            terms=terms.validate().to_dict(),
            by=by,
            template_code=template_code,
            parent_id=parent.id if parent is not None else None,
            timestamp=at,
        )

    @property
    def remaining_stock(self) -> int | None:
        return None if self.terms.stock is None else self.terms.stock - self.issued

    def revise(self, terms: CampaignTerms, by: str, at: datetime) -> None:
        self._require(Status.DRAFT, Status.REJECTED, action="revise")
        terms = terms.validate()
        if terms.stock is not None and terms.stock < self.issued:
            raise InvalidInput(
                f"stock cannot drop below the {self.issued} vouchers already issued",
                code="stock_below_issued",
            )
        self.trigger_event(self.Revised, terms=terms.to_dict(), by=by, timestamp=at)

    def submit(self, by: str, at: datetime) -> None:
        self._require(Status.DRAFT, action="submit")
        self.trigger_event(self.Submitted, by=by, timestamp=at)

    def approve(self, by: str, at: datetime) -> None:
        self._require(Status.PENDING_REVIEW, action="approve")
        self.trigger_event(self.Approved, by=by, timestamp=at)

    def reject(self, by: str, reason: str, at: datetime) -> None:
        self._require(Status.PENDING_REVIEW, action="reject")
        self.trigger_event(self.Rejected, by=by, reason=_reason(reason), timestamp=at)

    def activate(self, by: str, at: datetime) -> None:
        self._require(Status.APPROVED, action="activate")
        if self.terms.ends_at is not None and at >= self.terms.ends_at:
            raise InvalidTransition("the campaign's window has passed", code="campaign_window_passed")
        self.trigger_event(self.Activated, by=by, timestamp=at)

    def end(self, by: str, at: datetime) -> None:
        self._require(Status.ACTIVE, action="end")
        self.trigger_event(self.Ended, by=by, timestamp=at)

    def disable(self, by: str, reason: str, at: datetime) -> None:
        if self.status == Status.DISABLED:
            raise InvalidTransition("the campaign is already disabled", code="invalid_transition")
        self.trigger_event(self.Disabled, by=by, reason=_reason(reason), timestamp=at)

    def issue_vouchers(self, count: int, at: datetime, *, generated: bool = True) -> None:
        """Take `count` from stock for new vouchers (V5: more can be issued later)."""
        if self.status in (Status.ENDED, Status.DISABLED):
            raise InvalidTransition(f"cannot issue vouchers: campaign is {self.status}",
                                    code="campaign_closed")
        if not 1 <= count <= MAX_CODES_PER_REQUEST:
            raise InvalidInput(f"count must be 1..{MAX_CODES_PER_REQUEST} per request",
                               code="invalid_count")
        remaining = self.remaining_stock
        if remaining is not None and count > remaining:
            raise InvalidTransition(
                f"only {remaining} vouchers left in stock", code="stock_exhausted", remaining=remaining
            )
        if generated:
            self.terms.code_spec.check_room_for(self.issued + count)
        self.trigger_event(self.VouchersIssued, count=count, timestamp=at)

    def _require(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                f"cannot {action} a campaign that is {self.status}",
                current_status=self.status,
            )


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a reason of 1-500 characters is required", code="reason_required")
    return reason
