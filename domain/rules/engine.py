"""The pure rules engine: what a campaign's rules say about one order, in one place, at one time.

Money rules, stated once:
* the discount is computed on the qualifying lines only and never exceeds their amount;
* it is allocated to those lines in proportion to their amounts, each share rounded down, the
  units left over going to the lines with the largest remainders (ties: the earlier line), so
  the allocations always add up to the discount exactly;
* a split cost gives the group `floor(discount * share)` and the redeeming store the rest, so
  the parties' costs always add up to the discount exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.rules.model import BASIS_POINTS, Rules


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Situation:
    """Where, when and with what else an order is being paid."""

    at: datetime  # UTC
    local: datetime  # the same instant in the merchant's time zone
    store_id: str | None = None
    channel: str | None = None
    holidays: frozenset[date] = frozenset()
    segments: frozenset[str] = frozenset()  # the customer's segments (those that were asked about)
    stack: tuple[str, ...] = ()  # the other campaigns' keys applied in the same order (R3)


@dataclass(frozen=True)
class Line:
    """One order line as the engine sees it: its remaining amount after earlier codes."""

    index: int
    sku: str | None
    category: str | None
    amount: int


@dataclass(frozen=True)
class Allocation:
    line: int
    sku: str | None
    amount: int


@dataclass(frozen=True)
class Costs:
    group: int = 0
    store: int = 0


@dataclass(frozen=True)
class Evaluation:
    qualifying_amount: int
    reasons: tuple[Reason, ...] = ()
    lines: tuple[Line, ...] = field(default=())


def situation_reasons(rules: Rules, s: Situation, campaign_key: str) -> list[Reason]:
    """C8/C7/C11 reasons that do not depend on the cart's contents."""
    reasons = []
    if rules.stores and s.store_id not in rules.stores:
        reasons.append(Reason("wrong_store", "the campaign does not apply at this store"))
    if rules.channel != "any" and s.channel != rules.channel:
        reasons.append(Reason("wrong_channel", f"the campaign applies {rules.channel} only"))
    weekday = s.local.isoweekday()
    if rules.days_of_week and weekday not in rules.days_of_week:
        reasons.append(Reason("wrong_day", "the campaign does not apply on this day of the week"))
    if rules.workdays_only and (weekday > 5 or s.local.date() in s.holidays):
        reasons.append(Reason("not_a_workday", "the campaign applies on workdays only"))
    reasons += segment_reasons(rules, s.segments)
    reasons += stacking_reasons(rules, s.stack, campaign_key)
    return reasons


@dataclass(frozen=True)
class ClaimSituation:
    """C6: a voucher about to reach a customer's wallet, and the customer's earlier claims."""

    local: datetime  # now, in the merchant's time zone
    method: str  # "customer" (claims), "push" (the system gives it), "link" (a physical code, V6)
    channel: str | None = None
    segments: frozenset[str] = frozenset()
    claimed_days: tuple[date, ...] = ()  # the local day of each earlier claim of the campaign


def period_keys(day: date) -> dict[str, str]:
    """The natural periods a local day falls in; weeks are ISO weeks (Monday first)."""
    week = day.isocalendar()
    return {"total": "", "day": day.isoformat(), "week": f"{week.year}-W{week.week:02d}",
            "month": f"{day.year}-{day.month:02d}", "year": str(day.year)}


def claim_reasons(rules: Rules, s: ClaimSituation) -> list[Reason]:
    """C6 and C11 at claim time: method, claim channel, segment, limits per natural period."""
    claim = rules.claim
    reasons = []
    if claim.method != "any" and s.method != "link" and claim.method != s.method:
        who = "customers claim it themselves" if claim.method == "customer" else "the system pushes it"
        reasons.append(Reason("claim_method_not_allowed", f"this campaign's vouchers: {who} only"))
    if s.method == "customer" and claim.channel != "any" and s.channel != claim.channel:
        reasons.append(Reason("wrong_claim_channel", f"the campaign is claimed {claim.channel} only"))
    reasons += segment_reasons(rules, s.segments)
    now = period_keys(s.local.date())
    for period, limit in claim.limits().items():
        used = sum(1 for day in s.claimed_days if period_keys(day)[period] == now[period])
        if used >= limit:
            per = "in total" if period == "total" else f"per {period}"
            reasons.append(Reason(f"claim_limit_{period}",
                                  f"a customer may claim {limit} voucher(s) {per}"))
    return reasons


def segment_reasons(rules: Rules, segments: frozenset[str]) -> list[Reason]:
    """C11: a campaign for a segment applies to (and is claimed by) its members only."""
    if rules.segment is not None and rules.segment not in segments:
        return [Reason("not_in_segment", "the campaign is for another customer segment")]
    return []


def stacking_reasons(rules: Rules, others: tuple[str, ...], campaign_key: str) -> list[Reason]:
    """R3 from this campaign's side; the stack checks every campaign's side."""
    others = tuple(k for k in others if k != campaign_key)
    if not others:
        return []
    if rules.exclusivity == "exclusive":
        return [Reason("not_combinable", "the campaign cannot be combined with other offers")]
    if rules.exclusivity == "only_with" and any(k not in rules.combinable_with for k in others):
        return [Reason("not_combinable", "the campaign combines only with listed campaigns")]
    return []


def qualifying_lines(rules: Rules, lines: tuple[Line, ...]) -> Evaluation:
    """C7: the lines the discount may apply to, and their amount."""
    chosen = tuple(line for line in lines if rules.products.qualifies(line.sku, line.category))
    reasons: tuple[Reason, ...] = ()
    if not chosen:
        reasons = (Reason("not_applicable", "no line of the order qualifies for the campaign"),)
    return Evaluation(sum(line.amount for line in chosen), reasons, chosen)


def allocate(discount: int, lines: tuple[Line, ...]) -> tuple[Allocation, ...]:
    """Largest-remainder allocation of `discount` over `lines`, exact to the unit."""
    total = sum(line.amount for line in lines)
    if discount <= 0 or total <= 0:
        return ()
    shares = [(line, discount * line.amount // total, discount * line.amount % total) for line in lines]
    left = discount - sum(share for _, share, _ in shares)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-shares[i][2], shares[i][0].index))
    extra = set(by_remainder[:left])
    return tuple(Allocation(line.index, line.sku, share + (1 if i in extra else 0))
                 for i, (line, share, _) in enumerate(shares) if share or i in extra)


def split_cost(discount: int, rules: Rules) -> Costs:
    """C9: who pays the discount; the parts always add up to it."""
    if rules.cost_bearer == "store":
        return Costs(group=0, store=discount)
    if rules.cost_bearer == "split":
        group = discount * rules.group_share_bp // BASIS_POINTS
        return Costs(group=group, store=discount - group)
    return Costs(group=discount, store=0)
