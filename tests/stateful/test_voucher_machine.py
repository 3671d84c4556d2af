"""Random interleavings of issue, claim, push, assign, validate, redeem (with and without
Idempotency-Key, retried), reverse, holds and clock travel on one multi-use campaign with
limited stock — every answer predicted by the model, every invariant checked after every step,
on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, invariant, multiple, precondition, rule

from application.clock import ManualClock
from application.commands import Actor
from application.redemptions import RedeemRequest
from application.stacks import StackRequest
from domain.campaign import Campaign
from domain.eligibility import Order
from domain.usage import CustomerUsage
from domain.voucher import Voucher
from infrastructure.bootstrap import Container
from projections.redemption_log import LogFilter
from tests.stateful.support import (
    DEEP,
    StoreMachine,
    attempt,
    audit_whole_store,
    check_refusal,
    machine_settings,
    once_or_retried,
    replay_mismatches,
    report_outcomes,
    run,
    seen,
    settle,
    time_limit,
)
from tests.stateful.voucher_model import DISCOUNT, CampaignModel, CodeModel, HoldModel

CUSTOMERS = ("ann", "bob", "cy")
customers = st.sampled_from(CUSTOMERS)
anyone = st.sampled_from([*CUSTOMERS, None])
currencies = st.sampled_from(["EUR"] * 7 + ["USD"])
READ_MODELS = ("wallet", "campaign_stats", "redemption_log")
PROFILE = machine_settings(examples=12, steps=30)


def order(order_id: str, currency: str = "EUR") -> Order:
    return Order.build(3000, currency, order_id, [])


def reasons_of(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


class VoucherMachine(StoreMachine):
    codes = Bundle("codes")
    redemptions = Bundle("redemptions")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.merchant = f"v-{uuid.uuid4().hex[:12]}"
        self.actor = Actor(merchant_id=self.merchant, role="admin", ref="stateful:admin")
        self.serial = 0
        self.keyed_requests: dict[str, tuple[RedeemRequest, Any]] = {}
        self.touched: set[str] = set()  # codes a step may have changed: checked after it
        self.involved: set[str | None] = set()  # customers whose wallet or usage it may have changed

    def code(self, code: str) -> CodeModel:
        """The model of a code a step uses (so the invariants look at its voucher after it)."""
        self.touched.add(code)
        self.involved.add(self.m.codes[code].holder)
        return self.m.codes[code]

    def fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    @initialize(limit=st.integers(1, 3), per_customer=st.sampled_from([None, 1, 2]),
                stock=st.integers(3, 10), claim_total=st.sampled_from([None, 1, 2]),
                days=st.integers(3, 6), validity=st.sampled_from([None, 1, 2]),
                per_code_customer=st.sampled_from([None, 1]))
    def campaign(self, limit: int, per_customer: int | None, stock: int, claim_total: int | None,
                 days: int, validity: int | None, per_code_customer: int | None) -> None:
        self.m = CampaignModel("multi", limit, per_customer, stock, claim_total,
                               self.clock() + timedelta(days=days), validity, per_code_customer)
        self.c.campaigns.create_campaign(self.actor, self.m.key, self.m.terms())
        for action in ("submit", "approve", "activate"):
            self.c.campaigns.change_status(self.actor, self.m.key, action)
        self.ready = True

    # -- stock --------------------------------------------------------------------------------

    @rule(target=codes, count=st.integers(1, 2), explicit=st.booleans())
    def issue(self, count: int, explicit: bool) -> Any:
        wanted = [self.fresh("EXPL-") for _ in range(count)] if explicit else None
        result, refusal = attempt(lambda: self.c.vouchers.issue_codes(
            self.actor, self.m.key, count=None if explicit else count, codes=wanted))
        check_refusal(refusal, self.m.issue_refusal(count), "issue codes")
        if result is None:
            return multiple()
        at = self.clock()
        for code in result.body["codes"]:
            self.m.new_code(code, None, at)
            self.touched.add(code)
        return multiple(*result.body["codes"])

    @rule(target=codes, customer=customers, by_customer=st.booleans(), keyed=st.booleans())
    def claim_or_push(self, customer: str, by_customer: bool, keyed: bool) -> Any:
        """C6: the customer claims (checkout), or operations push a fresh code from stock."""
        at = self.clock()
        expected = self.m.claim_refusals(customer, at, by_customer=by_customer)
        if not by_customer:  # a push judges claim limits first, then takes from stock
            expected = expected or [r for r in [self.m.issue_refusal(1)] if r]
        give = self.c.vouchers.claim_voucher if by_customer else self.c.vouchers.assign_new_voucher
        self.involved.add(customer)
        key = self.fresh("key-") if keyed else None
        result, refusal = once_or_retried(self.c, key, lambda k: give(self.actor, self.m.key, customer,
                                                                      idempotency_key=k))
        check_refusal(refusal, expected[0] if expected else None, f"claim (customer: {by_customer})")
        if refusal is not None and refusal.code.startswith(("claim_", "campaign_", "stock_")) \
                and "reasons" in refusal.extra:
            assert [r["code"] for r in refusal.extra["reasons"]] == expected
        if result is None:
            return multiple()
        self.m.new_code(result.body["code"], customer, at)
        self.touched.add(result.body["code"])
        return result.body["code"]

    @rule(code=codes, customer=customers)
    def assign(self, code: str, customer: str) -> None:
        voucher = self.code(code)
        self.involved.add(customer)
        expected = ("campaign_closed" if self.m.status == "ended"
                    else "voucher_already_assigned" if voucher.holder is not None
                    else "voucher_already_used" if voucher.uses
                    else next(iter(self.m.claim_refusals(customer, self.clock(), by_customer=False)),
                              None))
        _, refusal = attempt(lambda: self.c.vouchers.assign_voucher(self.actor, code, customer))
        check_refusal(refusal, expected, "assign")
        if refusal is None:
            self.m.give(code, customer, self.clock())

    @rule(hours=st.sampled_from([1, 2, 3, 6, 12, 25, 1, 2, 49, 0]))
    def travel_or_end(self, hours: int) -> None:
        """Mostly time passes (holds lapse, vouchers and the campaign expire); sometimes the
        campaign is ended (and ending it again is refused)."""
        self.involved |= set(CUSTOMERS)  # vouchers expire in every wallet
        if hours:
            self.clock.advance(timedelta(hours=hours))
            return
        _, refusal = attempt(lambda: self.c.campaigns.change_status(self.actor, self.m.key, "end"))
        check_refusal(refusal, "invalid_transition" if self.m.status == "ended" else None, "end")
        self.m.status = "ended"

    # -- checkout -----------------------------------------------------------------------------

    def who(self, code: str, customer: str | None, as_holder: bool) -> str | None:
        """Mostly the code's holder, when it has one; else anyone (or no one)."""
        holder = self.code(code).holder
        return holder if as_holder and holder is not None else customer

    @rule(target=redemptions, code=codes, customer=anyone, as_holder=st.booleans(),
          currency=currencies, keyed=st.booleans())
    def validate_then_redeem(self, code: str, customer: str | None, as_holder: bool, currency: str,
                             keyed: bool) -> Any:
        """Validation changes nothing and agrees with the redemption that follows it."""
        customer = self.who(code, customer, as_holder)
        self.involved.add(customer)
        key = self.fresh("key-") if keyed else None
        request = RedeemRequest(code=code, order=order(self.fresh("o-"), currency), customer_id=customer)
        expected = self.m.redemption_reasons(self.code(code), customer, currency, self.clock())
        head = self.c.ledger.head()
        body = self.c.redemptions.validate(self.actor, request)
        assert (body["valid"], reasons_of(body)) == (not expected, expected), \
            f"validate said {reasons_of(body)}, the model {expected}"
        assert body["discount"] == (0 if expected else DISCOUNT)
        assert self.c.ledger.head() == head, "a validation wrote events"
        result = self.c.redemptions.redeem(self.actor, request, key)
        self._recorded(result.status, result.body, expected, code, customer)
        if key is not None:
            self.keyed_requests[key] = (request, result)
        return result.body["id"]

    def _recorded(self, status: int, body: dict[str, Any], expected: list[str], code: str,
                  customer: str | None) -> None:
        seen(f"redeem: {','.join(expected) or 'ok'}")
        assert (status, reasons_of(body)) == ((422, expected) if expected else (201, [])), body
        if expected:
            self.m.rejected_now(body["id"], code, customer, expected)
        else:
            assert body["discount"] == DISCOUNT
            self.m.redeemed_now(body["id"], code, customer)

    @precondition(lambda self: bool(self.keyed_requests))
    @rule(data=st.data())
    def retry_with_the_same_key(self, data: st.DataObject) -> None:
        """The same key and request: the first answer again, nothing applied twice."""
        key = data.draw(st.sampled_from(sorted(self.keyed_requests)), label="key")
        request, first = self.keyed_requests[key]
        head = self.c.ledger.head()
        again = self.c.redemptions.redeem(self.actor, request, key)
        assert (again.status, again.body, again.position, again.replayed) == (
            first.status, first.body, first.position, True)
        assert self.c.ledger.head() == head, "a replay wrote events"

    @precondition(lambda self: bool(self.keyed_requests))
    @rule(data=st.data())
    def reuse_a_key_for_another_order(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.keyed_requests)), label="key")
        request, _ = self.keyed_requests[key]
        other = RedeemRequest(code=request.code, order=order(self.fresh("o-")),
                              customer_id=request.customer_id)
        head = self.c.ledger.head()
        _, refusal = attempt(lambda: self.c.redemptions.redeem(self.actor, other, key))
        check_refusal(refusal, "idempotency_key_reused", "a reused key")
        assert self.c.ledger.head() == head

    @rule(redemption=redemptions, keyed=st.booleans())
    def reverse(self, redemption: str, keyed: bool) -> None:
        self.code(self.m.redemptions[redemption].code)
        self.involved.add(self.m.redemptions[redemption].customer)
        in_force = self.m.redemptions[redemption].status == "redeemed"
        result, refusal = once_or_retried(
            self.c, self.fresh("key-") if keyed else None,
            lambda k: self.c.redemptions.reverse(self.actor, UUID(redemption), "support says so", k))
        check_refusal(refusal, None if in_force else "redemption_not_reversible", "reverse")
        if result is not None:
            assert result.body["status"] == "reversed"
            self.m.reversed_now(redemption)

    # -- holds (R7) ---------------------------------------------------------------------------

    @rule(target=holds, code=codes, customer=anyone, as_holder=st.booleans(),
          minutes=st.sampled_from([30, 300, 1440]))
    def hold(self, code: str, customer: str | None, as_holder: bool, minutes: int) -> Any:
        customer, at = self.who(code, customer, as_holder), self.clock()
        self.involved.add(customer)
        cart = StackRequest(codes=(code,), order=order(self.fresh("h-")), customer_id=customer)
        expected = self.m.redemption_reasons(self.code(code), customer, "EUR", at)
        result = self.c.holds.place(self.actor, cart, minutes * 60)
        seen(f"hold: {','.join(expected) or 'ok'}")
        if expected:
            assert (result.status, reasons_of(result.body)) == (422, expected), result.body
            return multiple()
        assert (result.status, result.body["status"]) == (201, "held"), result.body
        placed = HoldModel(result.body["id"], code, customer, at + timedelta(minutes=minutes))
        self.m.holds[placed.id] = self.code(code).holds[placed.id] = placed
        return placed.id

    @rule(target=redemptions, hold=holds)
    def confirm(self, hold: str) -> Any:
        placed, at = self.m.holds[hold], self.clock()
        self.involved.add(placed.customer)
        status = placed.status_at(at)
        expected = self.m.redemption_reasons(self.code(placed.code), placed.customer, "EUR", at,
                                             hold_id=hold)
        result, refusal = attempt(lambda: self.c.holds.confirm(self.actor, UUID(hold)))
        check_refusal(refusal, None if status == "held" else f"hold_{status}", "confirm")
        if result is None:
            return multiple()
        if expected:  # recorded as a rejection; the hold stays until it lapses or is cancelled
            assert (result.status, reasons_of(result.body)) == (422, expected), result.body
            rejection = result.body["rejections"][0]
            self.m.rejected_now(rejection["id"], placed.code, placed.customer, expected)
            return rejection["id"]
        assert result.status == 201, result.body
        redemption = result.body["redemptions"][0]["id"]
        placed.status = "confirmed"
        del self.code(placed.code).holds[hold]
        self.m.redeemed_now(redemption, placed.code, placed.customer)
        return redemption

    @rule(hold=holds)
    def cancel(self, hold: str) -> None:
        placed = self.m.holds[hold]
        status = placed.status_at(self.clock())
        _, refusal = attempt(lambda: self.c.holds.cancel(self.actor, UUID(hold), "cart abandoned"))
        check_refusal(refusal, None if status == "held" else f"hold_{status}", "cancel")
        if refusal is None:
            placed.status = "cancelled"
            del self.code(placed.code).holds[hold]

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def everything_agrees_with_the_model(self) -> None:
        if self.changed_since_last_check():
            customers = {c for c in CUSTOMERS if c in self.involved}
            self.aggregates_agree_with_the_model(self.touched, customers)
            self.read_models_agree_with_the_model(customers)
        self.touched, self.involved = set(), set()

    def aggregates_agree_with_the_model(self, codes: set[str], customers: set[str]) -> None:
        """The campaign, and the vouchers and customers' usage a step involved (all at the end)."""
        campaign = self.c.ledger.find(Campaign.id_for(self.merchant, self.m.key), Campaign)
        assert campaign is not None
        assert (campaign.issued, campaign.status) == (self.m.issued, self.m.status)
        assert 0 <= campaign.issued <= self.m.stock, "stock went below zero"
        for code in (self.m.codes[c] for c in codes):
            voucher = self.c.ledger.find(Voucher.id_for(self.merchant, code.code), Voucher)
            assert voucher is not None
            assert sorted(map(str, voucher.redemptions)) == sorted(code.uses)
            assert voucher.redemption_count <= self.m.limit, "a code was redeemed past its limit"
            assert voucher.holder == code.holder
            assert sorted(str(h["id"]) for h in voucher.holds) == sorted(code.holds)
        if self.m.per_customer is not None:
            for customer in customers:
                usage = self.c.ledger.find(CustomerUsage.id_for(self.merchant, campaign.id, customer),
                                           CustomerUsage)
                count = usage.count if usage is not None else 0
                assert count == self.m.usage[customer] <= self.m.per_customer

    def read_models_agree_with_the_model(self, customers: set[str]) -> None:
        settle(self.c)
        campaign_id = str(Campaign.id_for(self.merchant, self.m.key))
        stats = self.c.queries.campaign_stats(self.merchant, campaign_id)
        assert {k: stats[k] for k in self.m.stats()} == self.m.stats()
        at = self.clock()
        for customer in customers:
            held = self.c.queries.wallet(self.merchant, customer)["vouchers"]
            assert sorted((v["code"], v["redemption_count"], v["expired"]) for v in held) == \
                self.m.wallet(customer, at)
        log = self.c.queries.redemptions(self.merchant, LogFilter(), limit=1000, before=None)["items"]
        assert sorted((e["id"], e["status"]) for e in log) == sorted(
            (r.id, r.status) for r in self.m.redemptions.values())
        if DEEP:
            assert replay_mismatches(self.c, READ_MODELS, self.merchant, self.start_position) == []

    def teardown(self) -> None:
        if self.ready:
            self.aggregates_agree_with_the_model(set(self.m.codes), set(CUSTOMERS))
            self.read_models_agree_with_the_model(set(CUSTOMERS))
            assert replay_mismatches(self.c, READ_MODELS, self.merchant, self.start_position) == []


@time_limit
def test_vouchers_and_redemptions_keep_their_invariants_under_random_interleavings(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    container = make_container()
    run(VoucherMachine, container, clock, PROFILE)
    report_outcomes("vouchers")
    audit_whole_store(container, READ_MODELS)
