"""A demo merchant for a new database, so `make run` has something to try straight away."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.commands import Actor
from application.points import EntryContext
from application.redemptions import RedeemRequest
from domain.eligibility import Order
from infrastructure.bootstrap import Container

DEMO_MERCHANT = "demo"


@dataclass(frozen=True)
class Demo:
    api_key: str
    code: str


def seed_demo(container: Container, advance: Callable[[timedelta], None] | None = None) -> Demo | None:
    """On an empty ledger: a demo merchant, an admin key, a live 10%-off code and some activity
    for the dashboard (spread over two weeks when `advance` moves the clock). Else None."""
    if container.ledger.head() != 0:
        return None
    key = container.access.create_key(DEMO_MERCHANT, "admin", label="demo admin",
                                      timezone="Europe/Amsterdam")
    actor = Actor(merchant_id=DEMO_MERCHANT, role="admin", ref="seed")
    container.campaigns.create_campaign(actor, "welcome", {
        "name": "Welcome 10% off", "currency": "EUR",
        "reward": {"type": "percent_off", "basis_points": 1000, "max_discount": 2000},
        "voucher_type": "multi_use", "redemption_limit": 1000,
    })
    for action in ("submit", "approve", "activate"):
        container.campaigns.change_status(actor, "welcome", action)
    container.vouchers.issue_codes(actor, "welcome", codes=["WELCOME10"])
    demo_activity(container, actor, advance)
    return Demo(api_key=key.secret, code="WELCOME10")


CUSTOMERS = ("alice", "bob", "carol", "dave", "erin", "frank")
STORES = ("AMS-01", "AMS-02", "UTR-01")


def demo_activity(container: Container, actor: Actor, advance: Callable[[timedelta], None] | None,
                  days: int = 14) -> None:
    """Campaigns, redemptions (some refused, one reversed), points and a burst of guessed codes."""
    rng = random.Random(7)
    c = container
    c.campaigns.create_campaign(actor, "spring", {
        "name": "Spring €5 off", "currency": "EUR", "stock": 60,
        "reward": {"type": "amount_off", "amount": 500, "min_spend": 2000}})
    for action in ("submit", "approve", "activate"):
        c.campaigns.change_status(actor, "spring", action)
    spring = c.vouchers.issue_codes(actor, "spring", count=48).body["codes"]
    c.points.define_program(actor, "main", "Demo rewards", 365)
    for customer in CUSTOMERS:
        c.vouchers.assign_voucher(actor, spring.pop(), customer)
        c.points.credit(actor, customer, "main", "regular", "allocation", 250,
                        EntryContext(source="SYSTEM", reason="welcome bonus"))
    n = 0
    for _day in range(days if advance else 1):
        for _ in range(rng.randint(2, 6) if advance else 4):
            n += 1
            customer, store = rng.choice(CUSTOMERS), rng.choice(STORES)
            channel = "online" if store == STORES[2] else "offline"
            code = "WELCOME10" if rng.random() < 0.6 or not spring else spring.pop()
            amount = rng.choice((1500, 2500, 4200, 6800))  # some miss spring's minimum spend
            c.redemptions.redeem(actor, RedeemRequest(
                code=code, order=Order.build(amount, "EUR", f"demo-{n}", []), customer_id=customer,
                store_id=store, channel=channel))
        if advance:
            advance(timedelta(days=1))
    for guess in range(22):  # someone guessing codes: the fraud detector flags it
        c.redemptions.redeem(actor, RedeemRequest(code=f"SPRING{guess:04d}", order=Order.build(
            3000, "EUR", f"guess-{guess}", []), customer_id="mallory", store_id=STORES[0]))
    redeemed = c.redemptions.redeem(actor, RedeemRequest(code="WELCOME10", order=Order.build(
        5000, "EUR", "demo-returned", []), customer_id="alice", store_id=STORES[1], channel="offline"))
    c.redemptions.reverse(actor, UUID(redeemed.body["id"]), "order cancelled at the till")

