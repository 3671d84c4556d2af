"""Random interleavings of partner-code imports (bad lines, duplicates, re-uploads), sales
(retried, or the order line reused), codes drawn as a redemption's reward, returns to the partner
and the partner's redemption reports — each code sold at most once, the stock counts predicted by
the model and checked against the read model and a replay after every step, on both stores."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, invariant, multiple, precondition, rule

from application.clock import ManualClock
from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from domain.pool import CodePool, PartnerCode
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign
from tests.stateful.support import (
    DEEP,
    StoreMachine,
    attempt,
    audit_whole_store,
    check_refusal,
    machine_settings,
    replay_mismatches,
    report_outcomes,
    run,
    seen,
    settle,
    time_limit,
)

UNIVERSE = [f"PC{i:06d}" for i in range(14)]  # the partner's codes (8 characters, as declared)
CUSTOMERS = ("ann", "bob")
POOL = "partner"
picks = st.lists(st.integers(0, len(UNIVERSE) - 1), min_size=1, max_size=8)
READ_MODELS = ("pool_stock", "wallet", "campaign_stats", "redemption_log")
PROFILE = machine_settings(examples=10, steps=30)


@dataclass
class Sale:
    quantity: int
    customer: str | None
    codes: list[str]


@dataclass
class PoolModel:
    imported: list[str] = field(default_factory=list)  # in upload order
    sold: dict[str, str | None] = field(default_factory=dict)  # code -> customer
    redeemed: set[str] = field(default_factory=set)
    returned: set[str] = field(default_factory=set)
    files: set[bytes] = field(default_factory=set)  # contents imported (a re-upload changes nothing)
    sales: dict[str, Sale] = field(default_factory=dict)  # order -> what it bought

    @property
    def available(self) -> set[str]:
        return set(self.imported) - set(self.sold) - self.returned

    def scan(self, lines: list[str]) -> tuple[int, list[str]]:
        """The lines a file would have rejected, and the codes it would add."""
        bad = sum(1 for line in lines if line not in UNIVERSE)
        codes = list(dict.fromkeys(line for line in lines if line in UNIVERSE))
        in_file = len([line for line in lines if line in UNIVERSE]) - len(codes)
        new = [c for c in codes if c not in self.imported]
        return bad + in_file + len(codes) - len(new), new

    def sell(self, codes: list[str], customer: str | None) -> None:
        """Record a sale, checking the service's pick: unsold, not returned, each once."""
        assert len(set(codes)) == len(codes) and set(codes) <= self.available, (codes, self.available)
        self.sold.update(dict.fromkeys(codes, customer))

    def stock(self) -> dict[str, int]:
        return {"uploaded": len(self.imported), "available": len(self.available),
                "sold": len(self.sold), "redeemed": len(self.redeemed), "returned": len(self.returned),
                "batches": len(self.files)}


class PoolMachine(StoreMachine):
    gifts = Bundle("gifts")  # redemptions that drew a partner code

    def __init__(self) -> None:
        super().__init__()
        self.merchant = f"pp-{uuid.uuid4().hex[:12]}"
        self.actor = Actor(merchant_id=self.merchant, role="admin", ref="stateful:admin")
        self.m = PoolModel()
        self.serial = 0

    @initialize(first=st.integers(0, 8))
    def pool_and_gift_code(self, first: int) -> None:
        """A pool with the partner's `first` codes, and a code whose reward is one of them."""
        live_campaign(self.c, self.actor, POOL)
        self.c.pools.create_pool(self.actor, POOL, {"min_length": 8, "max_length": 8})
        if first:
            self.import_file(list(range(first)), bad_line=False, skip_invalid=False)
        live_campaign(self.c, self.actor, "gift", voucher_type="multi_use", redemption_limit=None,
                      reward={"type": "partner_code", "pool": POOL, "cost": 1000})
        self.c.vouchers.issue_codes(self.actor, "gift", codes=["GIFT-1"])
        self.ready = True

    # -- filling the pool ---------------------------------------------------------------------

    @rule(chosen=picks, bad_line=st.booleans(), skip_invalid=st.booleans())
    def import_file(self, chosen: list[int], bad_line: bool, skip_invalid: bool) -> None:
        lines = [UNIVERSE[i] for i in chosen] + (["BAD"] if bad_line else [])
        content = ("\n".join(lines) + "\n").encode()
        rejected, new = self.m.scan(lines)
        known = content in self.m.files
        expected = (None if known else "file_rejected" if rejected and not skip_invalid
                    else "no_valid_codes" if not new else None)
        result, refusal = attempt(lambda: self.c.pools.import_codes(
            self.actor, POOL, io.BytesIO(content), "codes.csv", skip_invalid=skip_invalid))
        check_refusal(refusal, expected, "import")
        if refusal is not None and refusal.code == "file_rejected":
            assert refusal.extra["rejected"] == rejected
        if result is None:
            return
        assert (result.status, result.body["already_imported"]) == ((200, True) if known else (201, False))
        if not known:
            assert (result.body["accepted"], result.body["rejected"]) == (len(new), rejected)
            self.m.imported += new
            self.m.files.add(content)

    # -- selling ------------------------------------------------------------------------------

    @rule(quantity=st.integers(1, 3), customer=st.one_of(st.none(), st.sampled_from(CUSTOMERS)))
    def sell(self, quantity: int, customer: str | None) -> None:
        self.serial += 1
        order = f"ord-{self.serial}"
        expected = "sold_out" if quantity > len(self.m.available) else None
        result, refusal = attempt(lambda: self.c.pools.sell(self.actor, POOL, order, quantity=quantity,
                                                            customer_id=customer))
        check_refusal(refusal, expected, "sell")
        if result is not None:
            codes = [c["partner_code"] for c in result.body["codes"]]
            self.m.sell(codes, customer)
            self.m.sales[order] = Sale(quantity, customer, codes)

    @precondition(lambda self: bool(self.m.sales))
    @rule(data=st.data(), same=st.booleans())
    def sell_to_the_same_order_line_again(self, data: st.DataObject, same: bool) -> None:
        """A retry gets the codes it bought; another request for the line is refused."""
        order = data.draw(st.sampled_from(sorted(self.m.sales)), label="order")
        sale = self.m.sales[order]
        quantity = sale.quantity if same else sale.quantity % 3 + 1
        result, refusal = attempt(lambda: self.c.pools.sell(self.actor, POOL, order, quantity=quantity,
                                                            customer_id=sale.customer))
        check_refusal(refusal, None if same else "order_line_taken", "sell again")
        if result is not None:
            assert result.status == 200
            assert [c["partner_code"] for c in result.body["codes"]] == sale.codes

    @rule(target=gifts, customer=st.one_of(st.none(), st.sampled_from(CUSTOMERS)))
    def redeem_gift_code(self, customer: str | None) -> Any:
        """C5: the reward is drawn from the pool in the redemption's transaction, or refused."""
        order = Order.build(3000, "EUR", f"g-{uuid.uuid4().hex[:6]}", [])
        result = self.c.redemptions.redeem(self.actor, RedeemRequest(code="GIFT-1", order=order,
                                                                     customer_id=customer))
        sold_out = not self.m.available
        seen(f"gift: {'sold out' if sold_out else 'drawn'}")
        if sold_out:
            assert [r["code"] for r in result.body["reasons"]] == ["reward_sold_out"], result.body
            return multiple()
        assert result.status == 201, result.body
        self.m.sell([result.body["reward"]["code"]], customer)
        return result.body["id"]

    @rule(redemption=consumes(gifts))
    def reverse_gift_redemption(self, redemption: str) -> None:
        """The redemption is reversed; its partner code, once shown to the customer, stays sold."""
        result = self.c.redemptions.reverse(self.actor, UUID(redemption), "order cancelled")
        assert result.body["status"] == "reversed"

    # -- after the sale (P5) ------------------------------------------------------------------

    @rule(chosen=picks, everything=st.sampled_from([False, False, False, True]))
    def return_to_partner(self, chosen: list[int], everything: bool) -> None:
        """Listed codes, or (now and then) every code still unsold: never sold afterwards."""
        if everything:
            result = self.c.partner_codes.return_unsold(self.actor, POOL, "partnership over")
            seen(f"return unsold: {result.body['returned']}")
            assert result.body["returned"] == len(self.m.available)
            self.m.returned |= self.m.available
            return
        codes = list(dict.fromkeys(UNIVERSE[i] for i in chosen))
        result = self.c.partner_codes.return_codes(self.actor, POOL, codes, "selling period over")
        seen(f"return listed: {'some' if result.body['returned'] else 'none'}")
        body = result.body
        assert sorted(body["sold"]) == sorted(c for c in codes if c in self.m.sold)
        assert sorted(body["already_returned"]) == sorted(c for c in codes if c in self.m.returned)
        assert sorted(body["unknown"]) == sorted(c for c in codes if c not in self.m.imported)
        assert body["returned"] == len(self.m.available & set(codes))
        self.m.returned |= self.m.available & set(codes)

    @rule(chosen=picks)
    def partner_reports_redemptions(self, chosen: list[int]) -> None:
        codes = list(dict.fromkeys(UNIVERSE[i] for i in chosen))
        body = self.c.partner_codes.report_redeemed(self.actor, POOL, codes, "weekly report").body
        fresh = [c for c in codes if c in self.m.sold and c not in self.m.redeemed]
        seen(f"partner report: {'some' if fresh else 'none'} redeemed")
        assert sorted(body["redeemed"]) == sorted(fresh)
        assert sorted(body["already_redeemed"]) == sorted(c for c in codes if c in self.m.redeemed)
        assert sorted(body["not_sold"]) == sorted(c for c in codes if c in self.m.imported
                                                  and c not in self.m.sold)
        assert sorted(body["unknown"]) == sorted(c for c in codes if c not in self.m.imported)
        self.m.redeemed |= set(fresh)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def stock_agrees_with_the_model(self) -> None:
        if not self.changed_since_last_check():
            return
        settle(self.c)
        pool_id = CodePool.id_for(self.merchant, POOL)
        stock = self.c.pool_stock.stock(self.merchant, pool_id)
        assert stock is not None
        assert {k: stock[k] for k in self.m.stock()} == self.m.stock()
        assert all(n >= 0 for n in self.m.stock().values())
        assert self.c.pools.get_pool(self.merchant, POOL)["total_codes"] == len(self.m.imported)
        exported = {s: [r["code"] for r in self.c.pool_stock.export(self.merchant, pool_id, [s])]
                    for s in ("available", "sold", "redeemed", "returned")}
        assert sorted(exported["sold"] + exported["redeemed"]) == sorted(self.m.sold), "sold twice?"
        assert set(exported["redeemed"]) == self.m.redeemed
        assert set(exported["available"]) == self.m.available
        assert set(exported["returned"]) == self.m.returned
        for customer in CUSTOMERS:
            held = self.c.queries.wallet(self.merchant, customer)["vouchers"]
            assert sorted((v["partner_code"], v["status"]) for v in held) == sorted(
                (c, "redeemed" if c in self.m.redeemed else "sold")
                for c, who in self.m.sold.items() if who == customer)
        if DEEP:
            self.codes_agree()

    def codes_agree(self) -> None:
        """Each sold code's own stream, and its look-up by our internal code."""
        pool_id = CodePool.id_for(self.merchant, POOL)
        for code, customer in self.m.sold.items():
            found = self.c.ledger.find(PartnerCode.id_for(self.merchant, pool_id, code), PartnerCode)
            assert found is not None and found.customer_id == customer
            looked_up = self.c.partner_codes.look_up(self.merchant, found.internal_code or "")
            assert looked_up["partner_code"] == code
            assert looked_up["status"] == ("redeemed" if code in self.m.redeemed else "sold")

    def teardown(self) -> None:
        if self.ready:
            self.codes_agree()
            assert replay_mismatches(self.c, READ_MODELS, self.merchant, self.start_position) == []


@time_limit
def test_partner_code_pools_keep_their_invariants_under_random_interleavings(
    make_container: Callable[..., Container], clock: ManualClock,
) -> None:
    container = make_container()
    run(PoolMachine, container, clock, PROFILE)
    report_outcomes("pools")
    audit_whole_store(container, READ_MODELS)
