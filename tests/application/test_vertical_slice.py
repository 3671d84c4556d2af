"""The foundation's story, end to end through the application layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import UUID

from application.clock import ManualClock
from application.commands import Actor
from application.redemptions import RedeemRequest
from domain.campaign import Campaign
from domain.eligibility import Order
from infrastructure.bootstrap import Container
from projections.redemption_log import LogFilter
from tests.conftest import live_campaign


def order(amount: int = 3000, currency: str = "EUR", order_id: str = "o-1") -> Order:
    return Order.build(amount, currency, order_id, [])


def test_voucher_goes_from_campaign_to_wallet_to_redemption_and_back(
    container: Container, admin: Actor, clock: ManualClock
) -> None:
    # arrange: a live campaign with five generated codes, one assigned to a customer
    live_campaign(container, admin, stock=10)
    codes = container.vouchers.issue_codes(admin, "spring", count=5).body["codes"]
    container.vouchers.assign_voucher(admin, codes[0], "cust-1")

    # act: validate changes nothing, redeem records, reverse compensates
    request = RedeemRequest(code=codes[0].lower(), order=order(), customer_id="cust-1")
    assert container.redemptions.validate(admin, request)["discount"] == 500
    redeemed = container.redemptions.redeem(admin, request, "redeem-1")
    refused = container.redemptions.redeem(admin, request, "redeem-2")
    reversed_ = container.redemptions.reverse(admin, UUID(redeemed.body["id"]), "order returned")

    # assert: the answers, then the read models at the last position
    assert (redeemed.status, redeemed.body["discount"]) == (201, 500)
    assert refused.status == 422
    assert refused.body["reasons"][0]["code"] == "voucher_already_redeemed"
    assert reversed_.body["status"] == "reversed"
    container.projections.catch_up()
    wallet = container.queries.wallet("acme", "cust-1", reversed_.position)
    assert [(v["code"], v["state"], v["usable_now"]) for v in wallet["vouchers"]] == [
        (codes[0], "assigned", True)]
    campaign_id = redeemed.body["campaign_id"]
    stats = container.queries.campaign_stats("acme", campaign_id)
    assert {k: stats[k] for k in ("issued", "assigned", "redeemed", "reversed", "rejected", "remaining")} == {
        "issued": 5, "assigned": 1, "redeemed": 1, "reversed": 1, "rejected": 1, "remaining": 5}
    assert stats["rejections_by_reason"] == {"voucher_already_redeemed": 1}
    log = container.queries.redemptions("acme", LogFilter(), limit=10, before=None)["items"]
    assert [e["status"] for e in log] == ["rejected", "reversed"]


def test_every_projection_agrees_with_a_replay_and_a_rebuild(container: Container, admin: Actor) -> None:
    live_campaign(container, admin)
    codes = container.vouchers.issue_codes(admin, "spring", count=3).body["codes"]
    for i, code in enumerate(codes):
        container.vouchers.assign_voucher(admin, code, f"cust-{i}")
        container.redemptions.redeem(admin, RedeemRequest(code=code, order=order(), customer_id=f"cust-{i}"))
    container.redemptions.redeem(admin, RedeemRequest(code="NOSUCHCODE", order=order()))
    container.projections.catch_up()

    for name in container.projections.runners:
        before = _rows(container, name)
        assert container.projections.audit(name).ok
        container.projections.rebuild(name)
        assert _rows(container, name) == before, f"{name} rebuilt differently"


def _rows(container: Container, name: str) -> dict[str, list[tuple]]:
    projection = container.projections.runner(name).projection
    with container.db.transaction() as tx:
        return {t: sorted((tuple(sorted(r.items())) for r in tx.query(f"SELECT * FROM {t}")), key=repr)
                for t in projection.tables}


def test_auditor_reruns_a_decision_against_the_versions_it_was_pinned_to(
    container: Container, admin: Actor
) -> None:
    # arrange: one accepted and one refused redemption, then the campaign is disabled
    live_campaign(container, admin, reward={"type": "amount_off", "amount": 500, "min_spend": 2000})
    code = container.vouchers.issue_codes(admin, "spring", count=1).body["codes"][0]
    accepted = container.redemptions.redeem(admin, RedeemRequest(code=code, order=order(3000)))
    refused = container.redemptions.redeem(admin, RedeemRequest(code=code, order=order(3000)))
    container.campaigns.change_status(admin, "spring", "disable", "fraud suspected")

    # act + assert: both decisions replay to what was recorded, despite the later change
    for result, expected in ((accepted, (500, [])), (refused, (0, ["voucher_already_redeemed"]))):
        audit = container.decisions.redecide("acme", UUID(result.body["id"]))
        assert audit["agrees"], audit
        assert (audit["recomputed"]["discount"], audit["recomputed"]["reasons"]) == expected


def test_read_serves_an_unchanged_aggregate_from_cache_and_rebuilds_a_changed_one(
    container: Container, admin: Actor
) -> None:
    live_campaign(container, admin)
    campaign_id = Campaign.id_for("acme", "spring")

    first = container.ledger.read(campaign_id, Campaign)
    assert container.ledger.read(campaign_id, Campaign) is first  # one query, no rebuild

    container.campaigns.change_status(admin, "spring", "disable", "fraud suspected")
    changed = container.ledger.read(campaign_id, Campaign)
    assert changed is not first and changed.status == "disabled"
    assert first.status == "active"  # readers holding the old object never see it change
