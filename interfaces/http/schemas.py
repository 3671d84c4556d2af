"""Request and response models: the API's contract, and its OpenAPI document."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from domain.codes import DEFAULT_CHARSET
from domain.money import MAX_AMOUNT

Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT, description="minor units")]
PositiveAmount = Annotated[int, Field(strict=True, ge=1, le=MAX_AMOUNT, description="minor units")]
Count = Annotated[int, Field(strict=True, ge=1, le=10**12)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])]
Text = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
# Far enough apart for any promotion, far enough inside datetime's range that adding a validity
# window or a day never overflows (year 9999 timestamps are refused, not a 500).
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
MAX_DEPTH = 32  # free-form objects (customer attributes, workflow triggers) nest at most this deep


ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _iso_text(value: Any) -> Any:
    """ISO 8601 text only: pydantic would also read `0` or `"1767225600"` as Unix time."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DATETIME.match(value)):
        return value
    raise ValueError("an ISO 8601 date and time with a zone, e.g. 2026-03-01T09:00:00Z")


def _in_range(at: datetime) -> datetime:
    if not EARLIEST <= at < LATEST:
        raise ValueError("times run from 1900-01-01 to 2999-12-31 (UTC)")
    return at


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_range), Field(
    description="ISO 8601 with a zone, between 1900-01-01 and 2999-12-31 UTC")]


def refuse_unstorable(data: Any) -> None:
    """Refuse what no store can hold or no client can read back: NUL (PostgreSQL text refuses
    it, after the event is in the ledger), unpaired surrogates (not UTF-8), NaN and infinities
    (not JSON), and free-form objects nested deeper than MAX_DEPTH. Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError("numbers must be finite (no NaN or Infinity)")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise ValueError(f"objects and arrays nest at most {MAX_DEPTH} deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth + 1))


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("text may not contain NUL (U+0000)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text may not contain unpaired surrogates") from None


class Strict(BaseModel):
    """A request body: unknown fields are refused, and so is text no store can hold."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        refuse_unstorable(data)
        return data


class AmountOffIn(Strict):
    type: Literal["amount_off"]
    amount: PositiveAmount
    min_spend: Amount = 0


class PercentOffIn(Strict):
    type: Literal["percent_off"]
    basis_points: int = Field(strict=True, ge=1, le=10_000, description="1200 = 12% off")
    max_discount: PositiveAmount | None = None
    min_spend: Amount = 0
    list_price: PositiveAmount | None = Field(
        None, description="the price the unit cost (list - discounted) is planned on, for budgets")


class CashVoucherIn(Strict):
    type: Literal["cash_voucher"]
    price: Amount
    face_value: PositiveAmount
    min_spend: Amount = 0


class PointsRewardIn(Strict):
    type: Literal["points"]
    points: int = Field(strict=True, ge=1, le=10**9)
    program: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    category: Literal["regular", "promised", "trigger"] = "regular"
    min_spend: Amount = 0


class GiftIn(Strict):
    """A gift item handed over with a qualifying order."""

    type: Literal["gift"]
    sku: str = Field(min_length=1, max_length=128)
    name: str = Field("", max_length=200)
    cost: Amount = Field(description="what one gift costs to give, for budgets and cost reports")
    quantity: int = Field(1, strict=True, ge=1, le=1000)
    min_spend: Amount = 0


class PartnerCodeIn(Strict):
    """A third-party reward code (e.g. a gift card) drawn from a campaign's partner pool."""

    type: Literal["partner_code"]
    pool: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                      description="the key of the campaign whose pool supplies the codes")
    cost: Amount | None = Field(None, description="what one code costs, for budgets")
    min_spend: Amount = 0


class OfferIn(Strict):
    """W2: redeeming the code places a voucher of another campaign in the customer's wallet."""

    type: Literal["offer"]
    campaign: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                          description="the offer's campaign key")
    min_spend: Amount = 0


RewardIn = Annotated[AmountOffIn | PercentOffIn | CashVoucherIn | PointsRewardIn | GiftIn
                     | PartnerCodeIn | OfferIn, Field(discriminator="type")]


class CodeSpecIn(Strict):
    length: int = Field(8, strict=True, ge=4, le=48)
    charset: str = Field(DEFAULT_CHARSET, min_length=2, max_length=36, pattern=r"^[A-Z0-9]+$")
    prefix: str = Field("", max_length=16, pattern=r"^[A-Z0-9_-]*$")
    suffix: str = Field("", max_length=16, pattern=r"^[A-Z0-9_-]*$")
    pattern: str | None = Field(None, max_length=48, pattern=r"^[A-Z0-9#_-]+$",
                                description="'#' marks a random character, e.g. 'SPRING-####-####'")


Key = Annotated[str, Field(min_length=1, max_length=128)]


class ProductScopeIn(Strict):
    """Which lines qualify: none listed = every product; exclusions always win."""

    categories: list[Key] = Field(default_factory=list, max_length=500)
    skus: list[Key] = Field(default_factory=list, max_length=5000)
    exclude_categories: list[Key] = Field(default_factory=list, max_length=500)
    exclude_skus: list[Key] = Field(default_factory=list, max_length=5000)


class ValidityIn(Strict):
    mode: Literal["fixed", "from_claim", "after_claim"] = Field(
        "fixed", description="the campaign's window; from the claim; or days_after the claim "
        "for duration_days")
    days_after: int = Field(0, strict=True, ge=0, le=3650)
    duration_days: int | None = Field(None, strict=True, ge=1, le=3650)


ClaimLimit = Annotated[int, Field(strict=True, ge=1, le=10**9)]


class ClaimRulesIn(Strict):
    """C6: how vouchers reach wallets and how many one customer may have."""

    channel: Literal["any", "online", "offline"] = Field("any", description="where customers claim")
    method: Literal["any", "customer", "push"] = Field(
        "any", description="customer: customers claim, no pushes; push: the system pushes only")
    total: ClaimLimit | None = Field(None, description="vouchers per customer in total")
    per_day: ClaimLimit | None = Field(None, description="per natural day, merchant's time zone")
    per_week: ClaimLimit | None = Field(None, description="per ISO week (Monday first)")
    per_month: ClaimLimit | None = None
    per_year: ClaimLimit | None = None


class RulesIn(Strict):
    """Applicability (C7), usage (C8), per-code limits (V3), targeting (C11), cost bearer (C9)."""

    products: ProductScopeIn = Field(default_factory=lambda: ProductScopeIn.model_validate({}))
    stores: list[Key] = Field(default_factory=list, max_length=5000, description="empty: every store")
    channel: Literal["any", "online", "offline"] = "any"
    days_of_week: list[Annotated[int, Field(strict=True, ge=1, le=7)]] = Field(
        default_factory=list, max_length=7, description="ISO weekdays, 1 = Monday; empty: every day")
    workdays_only: bool = Field(False, description="Monday to Friday, except the merchant's holidays")
    exclusivity: Literal["combinable", "exclusive", "only_with"] = "combinable"
    combinable_with: list[Key] = Field(default_factory=list, max_length=100,
                                       description="campaign keys, when exclusivity is only_with")
    segment: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                                description="only this customer segment's members")
    per_customer_per_code: Count | None = None
    per_order_per_code: Count | None = None
    cost_bearer: Literal["group", "store", "split"] = "group"
    group_share_bp: int = Field(10_000, strict=True, ge=0, le=10_000,
                                description="the group's share of a split cost; 8000 = 80/20")
    validity: ValidityIn = Field(default_factory=lambda: ValidityIn.model_validate({}))
    claim: ClaimRulesIn = Field(default_factory=lambda: ClaimRulesIn.model_validate({}))


class CampaignTermsIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    image_url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    redirect_url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$",
                                     description="where a claim sends the customer")
    internal_remarks: str = Field("", max_length=2000, description="for staff; never shown to customers")
    currency: Currency
    reward: RewardIn
    voucher_type: Literal["single_use", "multi_use"] = "single_use"
    redemption_limit: Count | None = Field(
        None, description="uses per code for multi_use codes (null = unlimited); single_use is 1")
    per_customer_limit: Count | None = Field(None, description="redemptions per customer")
    stock: Count | None = Field(None, description="vouchers that may be issued (null = unlimited)")
    budget: Annotated[int, Field(strict=True, ge=1, le=10**15)] | None = Field(
        None, description="C4: stock = budget // the reward's unit cost (a stock given must fit)")
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    code_spec: CodeSpecIn = Field(default_factory=lambda: CodeSpecIn.model_validate({}))
    rules: RulesIn = Field(default_factory=lambda: RulesIn.model_validate({}))

    def to_terms(self) -> dict[str, Any]:
        terms = self.model_dump(exclude={"key", "parent"})
        if self.voucher_type == "single_use":
            terms["redemption_limit"] = 1
        return terms


class CampaignCreate(CampaignTermsIn):
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="unique per merchant")
    parent: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                               description="the main campaign's key, for a sub-campaign (C1)")


class ReasonIn(Strict):
    reason: Reason


class IssueCodesIn(Strict):
    count: int | None = Field(None, strict=True, ge=1, le=10_000, description="codes to generate")
    codes: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, min_length=1, max_length=10_000, description="explicit codes, e.g. ['HOLIMAN100']")


class CustomerIn(Strict):
    customer_id: Text


class ClaimIn(Strict):
    customer_id: Text
    channel: Literal["online", "offline"] | None = Field(None, description="where the customer claims")


class LineIn(Strict):
    sku: Text
    quantity: int = Field(strict=True, ge=1, le=1_000_000)
    unit_price: Amount
    category: Text | None = None


class OrderIn(Strict):
    id: Text | None = None
    amount: Amount | None = Field(None, description="defaults to the lines' total")
    currency: Currency
    lines: list[LineIn] = Field(default_factory=list, max_length=500)


class RedeemIn(Strict):
    code: str = Field(min_length=1, max_length=64)
    customer_id: Text | None = None
    order: OrderIn
    store_id: Text | None = None
    channel: Literal["online", "offline"] | None = None


class StackIn(Strict):
    """Several codes on one order (R3); applied in the documented order, all or nothing."""

    codes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=10)
    customer_id: Text | None = None
    order: OrderIn
    store_id: Text | None = None
    channel: Literal["online", "offline"] | None = None
    apply_linked: bool = Field(False, description="add the customer's linked codes (V6) that make the "
                               "stack give more; with it, codes may be empty")


class BestOfferIn(Strict):
    customer_id: Text
    order: OrderIn
    store_id: Text | None = None
    channel: Literal["online", "offline"] | None = None


class ReturnedLineIn(Strict):
    sku: Text
    quantity: int = Field(strict=True, ge=1, le=1_000_000)


class ReturnIn(Strict):
    lines: list[ReturnedLineIn] = Field(min_length=1, max_length=500)
    reason: Reason


class HoldIn(StackIn):
    seconds: int = Field(900, strict=True, ge=1, le=86_400, description="how long the hold lasts")


class CancelIn(Strict):
    reason: str = Field("", max_length=500)


# -- responses ----------------------------------------------------------------------------

class Out(BaseModel):
    position: int | None = Field(
        None, description="ledger position of the command's last event; pass as min_position to read it")


class CampaignOut(Out):
    id: str
    key: str
    version: int
    status: str
    template_code: str | None = None
    parent_id: str | None = None
    image_url: str | None = None
    redirect_url: str | None = None
    internal_remarks: str = ""
    name: str
    description: str
    currency: str
    reward: dict[str, Any]
    voucher_type: str
    redemption_limit: int | None
    per_customer_limit: int | None
    stock: int | None
    budget: int | None = None
    unit_cost: int | None = None
    issued: int
    remaining_stock: int | None
    starts_at: str | None
    ends_at: str | None
    code_spec: dict[str, Any]
    rules: dict[str, Any] = {}
    code_entropy_bits: float
    created_at: str
    updated_at: str


class CodesOut(Out):
    campaign_id: str
    campaign_key: str
    count: int
    codes: list[str]


class VoucherOut(Out):
    id: str
    code: str
    campaign_id: str
    state: Literal["open", "assigned", "redeemed", "withdrawn"]
    holder: str | None
    redemption_limit: int | None
    redemption_count: int
    version: int
    issued_at: str
    linked: bool = False
    campaign_key: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    redirect_url: str | None = Field(None, description="after a claim: where to send the customer")


class ReasonOut(BaseModel):
    code: str
    message: str


class CampaignRef(BaseModel):
    id: str
    key: str
    version: int


class AllocationOut(BaseModel):
    line: int
    sku: str | None
    amount: int


class CostsOut(BaseModel):
    group: int
    store: int


class ValidationOut(BaseModel):
    valid: bool
    code: str
    discount: int
    points: int = 0
    currency: str
    qualifying_amount: int = 0
    allocations: list[AllocationOut] = []
    costs: CostsOut | None = None
    reasons: list[ReasonOut]
    campaign: CampaignRef | None = None


class ReversalOut(BaseModel):
    reason: str
    by: str
    at: str | None


class RedemptionOut(Out):
    id: str
    status: Literal["redeemed", "rejected", "reversed", "partially_reversed"]
    code: str
    voucher_id: str | None
    campaign_id: str | None
    campaign_version: int | None
    customer_id: str | None
    order: dict[str, Any]
    store_id: str | None
    channel: str | None
    currency: str
    discount: int
    discount_in_force: int = 0
    returned: list[dict[str, Any]] = []
    points_awarded: int = 0
    reward: dict[str, Any] | None = Field(
        None, description="a gift, partner code (with the code drawn) or offer (with the voucher placed)")
    allocations: list[AllocationOut] = []
    costs: CostsOut | None = None
    reasons: list[ReasonOut]
    created_at: str | None
    reversal: ReversalOut | None
    stack_id: str | None = None


class StackItemOut(BaseModel):
    code: str
    valid: bool
    discount: int
    points: int
    allocations: list[AllocationOut]
    costs: CostsOut
    campaign_key: str | None
    reasons: list[ReasonOut]


class StackValidationOut(BaseModel):
    valid: bool
    discount: int
    points: int
    currency: str
    order_of_application: list[str]
    items: list[StackItemOut]


class StackRedemptionOut(StackValidationOut):
    id: str
    status: str
    redemptions: list[RedemptionOut]
    position: int | None = None


class HoldOut(Out):
    id: str
    status: Literal["held", "confirmed", "cancelled", "lapsed"]
    codes: list[str]
    customer_id: str | None
    order_id: str | None
    expires_at: str | None
    stack_id: str | None
    validation: StackValidationOut | None = None


class HoldRedemptionOut(StackRedemptionOut):
    hold_id: str


class BestStackOut(BaseModel):
    codes: list[str]
    discount: int
    points: int
    order_of_application: list[str]


class BestOffersOut(BaseModel):
    customer_id: str
    currency: str
    best_stack: BestStackOut
    offers: list[StackItemOut]


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    code: str
    detail: str
