"""A demo merchant for a new database, so `make run` has something to try straight away."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import Actor
from infrastructure.bootstrap import Container

DEMO_MERCHANT = "demo"


@dataclass(frozen=True)
class Demo:
    api_key: str
    code: str


def seed_demo(container: Container) -> Demo | None:
    """On an empty ledger: a demo merchant, an admin key and a live 10%-off code. Else None."""
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
    return Demo(api_key=key.secret, code="WELCOME10")
