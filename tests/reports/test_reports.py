"""Reports (A1-A3) over the read models, on SQLite and PostgreSQL: a main campaign with two
sub-campaigns (one in another currency), redemptions in stores and channels across local days of a
merchant in Amsterdam, a rejection, a reversal and a partial return, a claim; then every figure."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.clock import ManualClock
from application.commands import Actor
from application.points import EntryContext
from application.redemptions import RedeemRequest
from application.reports import RedemptionQuery, ReportService
from domain.eligibility import Order, OrderLine
from domain.errors import InvalidInput, NotFound
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from projections.report_queries import Days
from tests.conftest import START, reward_amount_off, terms
from tests.support.pgcluster import PostgresCluster

ACME = Actor(merchant_id="acme", role="admin", ref="test:acme")
LINES = [OrderLine("hat", 1, 1000), OrderLine("shoe", 1, 2000)]


def live(c: Container, key: str, parent: str | None = None, **overrides: Any) -> str:
    c.campaigns.create_campaign(ACME, key, terms(name=key.title(), **overrides), parent=parent)
    for action in ("submit", "approve", "activate"):
        c.campaigns.change_status(ACME, key, action)
    return key


def redeem(c: Container, code: str, customer: str | None, amount: int, currency: str = "EUR", *,
           store: str | None = None, channel: str | None = None, lines: list[OrderLine] | None = None
           ) -> dict[str, Any]:
    order = Order.build(None if lines else amount, currency, None, lines or [])
    request = RedeemRequest(code=code, order=order, customer_id=customer, store_id=store, channel=channel)
    return c.redemptions.redeem(ACME, request).body


def scenario(c: Container, clock: ManualClock) -> dict[str, Any]:
    """Day 1 is 2026-03-01 in Amsterdam (the clock starts at 09:00 UTC, 10:00 there)."""
    c.access.register_merchant("acme", timezone="Europe/Amsterdam")
    live(c, "summer", reward={"type": "percent_off", "basis_points": 1000}, stock=20,
         rules={"cost_bearer": "split", "group_share_bp": 8000})
    live(c, "summer-shoes", parent="summer", reward=reward_amount_off(300), stock=10)
    live(c, "summer-uk", parent="summer", currency="GBP", reward=reward_amount_off(200))
    live(c, "other", voucher_type="multi_use", redemption_limit=5)
    summer = c.vouchers.issue_codes(ACME, "summer", count=5).body["codes"]
    shoes = c.vouchers.issue_codes(ACME, "summer-shoes", count=3).body["codes"]
    uk = c.vouchers.issue_codes(ACME, "summer-uk", count=2).body["codes"]
    c.vouchers.issue_codes(ACME, "other", codes=["OTHER-ALL"])
    c.vouchers.assign_voucher(ACME, summer[0], "alice")
    c.vouchers.claim_voucher(ACME, "summer", "dave", "online")
    c.points.define_program(ACME, "main", "Main", 365)
    c.points.credit(ACME, "alice", "main", "regular", "allocation", 50, EntryContext())

    alice = redeem(c, summer[0], "alice", 0, store="S1", channel="offline", lines=LINES)  # 300: 240/60
    bob = redeem(c, summer[1], "bob", 5000, channel="online")  # 500: 400/100
    rejected = redeem(c, summer[0], "alice", 3000, store="S1", channel="offline")
    redeem(c, shoes[0], "alice", 4000, store="S2", channel="offline")  # 300, the group pays
    redeem(c, uk[0], "carol", 4000, "GBP", channel="online")  # 200 GBP
    redeem(c, uk[1], "carol", 4000, "EUR", channel="online")  # currency_mismatch
    redeem(c, "NOPE-NOPE", "mallory", 4000)  # unknown code: no campaign
    for _ in range(2):
        redeem(c, "OTHER-ALL", "alice", 4000, store="S1", channel="offline")  # 500 each
    clock.advance(timedelta(hours=14, minutes=30))  # 23:30 UTC: 00:30 on 2 March in Amsterdam
    redeem(c, summer[2], "erin", 2000, store="S1", channel="offline")  # 200: 160/40
    clock.advance(timedelta(days=1, hours=10))  # 3 March
    c.redemptions.reverse(ACME, UUID(bob["id"]), "order cancelled")
    c.returns.return_lines(ACME, UUID(alice["id"]), [("hat", 1)], "hat came back")  # 300 -> 200
    c.projections.catch_up()
    return {"alice": alice, "bob": bob, "rejected": rejected}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Container, ReportService, dict[str, Any]]]:
    """One scenario per store, shared by the tests of this module: they only read it."""
    cluster: PostgresCluster | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports')}/ledger.db"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database("reports_scenario")
    clock = ManualClock(START)
    c = build(Settings(database_url=url, seed_demo=False, projection_poll_seconds=0.01), clock=clock,
              rng=random.Random(0))
    try:
        facts = scenario(c, clock)
        yield c, ReportService(c.queries), facts
    finally:
        c.close()
        if cluster is not None:
            cluster.drop_database("reports_scenario")


Built = tuple[Container, ReportService, dict[str, Any]]


def figures(line: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: line[n] for n in names}


MONEY = ("redeemed", "reversed", "returned", "rejected", "discount", "cost_by_bearer")


def test_the_campaign_report_rolls_sub_campaigns_up_per_currency(built: Built) -> None:
    _, reports, _ = built
    report = reports.campaign_report("acme", "summer")

    assert report["timezone"] == "Europe/Amsterdam"
    assert (report["campaign"]["key"], report["sub_campaigns"]) == ("summer", 2)
    eur, gbp = report["totals"]
    assert eur["currency"] == "EUR" and gbp["currency"] == "GBP"
    # 300 + 500 + 200 - 500 (reversed) - 100 (returned) in summer, 300 in shoes
    assert figures(eur, *MONEY) == {"redeemed": 4, "reversed": 1, "returned": 1, "rejected": 1,
                                    "discount": 700, "cost_by_bearer": {"group": 620, "store": 80}}
    assert figures(eur, "issued", "assigned", "claimed", "net_redeemed") == {
        "issued": 5 + 1 + 3, "assigned": 2, "claimed": 1, "net_redeemed": 3}
    assert figures(gbp, *MONEY) == {"redeemed": 1, "reversed": 0, "returned": 0, "rejected": 1,
                                    "discount": 200, "cost_by_bearer": {"group": 200, "store": 0}}
    assert report["rejections_by_reason"] == {"currency_mismatch": 1, "voucher_already_redeemed": 1}
    # stock: the GBP sub-campaign is unlimited, so the family's is unknown; each line has its own
    assert (report["stock"], report["remaining_stock"], report["issued_all_time"]) == (None, None, 11)
    lines = {line["campaign"]["key"]: line for line in report["by_campaign"]}
    assert list(lines) == ["summer", "summer-shoes", "summer-uk"]
    assert (lines["summer"]["stock"], lines["summer"]["remaining_stock"]) == (20, 14)
    assert (lines["summer"]["discount"], lines["summer-shoes"]["discount"]) == (400, 300)
    assert lines["summer-uk"]["rejections_by_reason"] == {"currency_mismatch": 1}


RANGES = [(None, None), (date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), None),
          (date(2026, 2, 15), date(2026, 3, 2)), (date(2026, 3, 2), None), (None, date(2026, 3, 1)),
          (date(2026, 1, 1), date(2026, 3, 31)), (None, date(2026, 2, 28)), (date(2026, 2, 23), None),
          (date(2026, 3, 2), date(2026, 3, 8)), (date(2026, 3, 3), date(2026, 3, 3))]


@pytest.mark.parametrize(("since", "until"), RANGES)
def test_every_breakdown_adds_up_to_the_totals(built: Built, since: date | None, until: date | None
                                               ) -> None:
    """Totals come from day cells; stores, channels and reasons from month, week and day cells."""
    _, reports, _ = built
    report = reports.campaign_report("acme", "summer", since=since, until=until)
    totals = {t["currency"]: t for t in report["totals"]}
    for breakdown in ("by_campaign", "by_store", "by_channel", "by_day"):
        for currency, total in totals.items():
            lines = [line for line in report[breakdown] if line["currency"] == currency]
            for name in ("issued", "assigned", "claimed", "redeemed", "reversed", "returned", "rejected",
                         "discount"):
                assert sum(line[name] for line in lines) == total[name], (breakdown, currency, name)
            for bearer in ("group", "store"):
                assert sum(line["cost_by_bearer"][bearer] for line in lines) == \
                    total["cost_by_bearer"][bearer], (breakdown, currency, bearer)
    rejected = sum(line["rejected"] for line in report["by_campaign"])
    assert sum(report["rejections_by_reason"].values()) == rejected  # one reason per attempt here
    assert reports.rejections("acme", "summer", since=since, until=until)["rejected"] == rejected


def test_a_range_is_read_as_whole_months_then_weeks_then_days() -> None:
    assert Days().spans() == [("m", None, None)]
    assert Days(date(2026, 3, 1), date(2026, 3, 31)).spans() == [("m", "2026-03", "2026-03")]
    assert Days(date(2026, 1, 15), date(2026, 3, 14)).spans() == [  # Thursday 15 Jan to Saturday 14 Mar
        ("d", "2026-01-15", "2026-01-18"), ("w", "2026-01-19", "2026-01-19"),
        ("d", "2026-01-26", "2026-01-31"), ("m", "2026-02", "2026-02"), ("d", "2026-03-01", "2026-03-01"),
        ("w", "2026-03-02", "2026-03-02"), ("d", "2026-03-09", "2026-03-14")]
    assert Days(date(2026, 3, 2), date(2026, 3, 8)).spans() == [("w", "2026-03-02", "2026-03-02")]
    assert Days(date(2026, 3, 3), date(2026, 3, 8)).spans() == [("d", "2026-03-03", "2026-03-08")]
    assert Days(date(2026, 2, 2), None).spans() == [("w", "2026-02-02", "2026-02-16"),
                                                    ("d", "2026-02-23", "2026-02-28"), ("m", "2026-03", None)]
    assert Days(None, date(2024, 2, 29)).spans() == [("m", None, "2024-02")]  # a leap year's February
    assert Days(None, date(2024, 2, 28)).spans()[0] == ("m", None, "2024-01")
    assert Days(date(2026, 12, 1), date(2026, 12, 31)).spans() == [("m", "2026-12", "2026-12")]


def test_stores_channels_and_local_days(built: Built) -> None:
    _, reports, _ = built
    report = reports.campaign_report("acme", "summer")
    stores = {(s["store_id"], s["currency"]): s for s in report["by_store"]}
    assert list(stores) == [("S1", "EUR"), ("S2", "EUR"), (None, "EUR"), (None, "GBP")]
    assert figures(stores["S1", "EUR"], "redeemed", "rejected", "returned", "discount") == {
        "redeemed": 2, "rejected": 1, "returned": 1, "discount": 400}
    assert figures(stores[None, "EUR"], "redeemed", "reversed", "discount", "issued") == {
        "redeemed": 1, "reversed": 1, "discount": 0, "issued": 9}  # bob online, then reversed
    channels = {(c["channel"], c["currency"]): c for c in report["by_channel"]}
    assert channels["online", "EUR"]["claimed"] == 1
    assert channels["offline", "EUR"]["redeemed"] == 3
    days = {(d["day"], d["currency"]): d for d in report["by_day"]}
    assert list(days) == [("2026-03-01", "EUR"), ("2026-03-01", "GBP"), ("2026-03-02", "EUR"),
                          ("2026-03-03", "EUR")]
    assert figures(days["2026-03-02", "EUR"], "redeemed", "discount") == {"redeemed": 1, "discount": 200}
    assert figures(days["2026-03-03", "EUR"], "redeemed", "reversed", "returned", "discount") == {
        "redeemed": 0, "reversed": 1, "returned": 1, "discount": -600}


def test_a_range_of_local_days_and_a_campaign_without_its_subs(built: Built) -> None:
    _, reports, _ = built
    day2 = reports.campaign_report("acme", "summer", since=date(2026, 3, 2), until=date(2026, 3, 2))
    assert [(t["currency"], t["redeemed"], t["discount"]) for t in day2["totals"]] == [("EUR", 1, 200)]
    assert day2["remaining_stock"] is None and day2["issued_all_time"] == 11  # stock is all time
    alone = reports.campaign_report("acme", "summer", rollup=False)
    assert (alone["sub_campaigns"], [t["currency"] for t in alone["totals"]]) == (0, ["EUR"])
    assert (alone["stock"], alone["remaining_stock"]) == (20, 14)
    assert alone["totals"][0]["discount"] == 400

    listed = reports.campaigns("acme", limit=1)
    assert [i["campaign"]["key"] for i in listed["items"]] == ["other"]
    rest = reports.campaigns("acme", limit=5, after=listed["next_cursor"])
    assert [i["campaign"]["key"] for i in rest["items"]] == ["summer"]  # sub-campaigns roll up
    assert rest["next_cursor"] is None
    assert rest["items"][0]["totals"] == reports.campaign_report("acme", "summer")["totals"]


def test_rejections_by_reason_with_counts(built: Built) -> None:
    _, reports, _ = built
    everything = reports.rejections("acme")
    assert everything["rejected"] == 2  # the unknown code names no campaign
    assert everything["reasons"] == [{"reason": "currency_mismatch", "count": 1},
                                     {"reason": "voucher_already_redeemed", "count": 1}]
    assert [(c["campaign"]["key"], c["rejected"]) for c in everything["by_campaign"]] == [
        ("summer", 1), ("summer-uk", 1)]
    assert everything["by_day"] == [{"day": "2026-03-01", "rejected": 2}]
    shoes = reports.rejections("acme", "summer-shoes")
    assert (shoes["rejected"], shoes["reasons"]) == (0, [])
    assert reports.rejections("acme", since=date(2026, 3, 2))["rejected"] == 0


def test_redemption_detail_filters_and_pages(built: Built) -> None:
    _c, reports, facts = built

    def ids(**filters: Any) -> list[str]:
        page = reports.redemptions("acme", RedemptionQuery(**filters), limit=100, before=None)
        return [item["id"] for item in page["items"]]

    everything = ids()
    assert len(everything) == 10
    assert len(ids(campaign="summer")) == 4 and len(ids(campaign="summer", rollup=True)) == 7
    assert len(ids(store_id="S1")) == 5 and len(ids(channel="online")) == 3
    assert ids(status="reversed") == [facts["bob"]["id"]]
    assert ids(customer_id="alice", status="partially_reversed") == [facts["alice"]["id"]]
    assert len(ids(since=date(2026, 3, 2), until=date(2026, 3, 2))) == 1  # erin, 23:30 UTC on 1 March
    assert len(ids(until=date(2026, 3, 1))) == 9

    alice = reports.redemptions("acme", RedemptionQuery(customer_id="alice", campaign="summer",
                                                        status="partially_reversed"),
                                limit=5, before=None)["items"][0]
    assert (alice["campaign_key"], alice["store_id"], alice["channel"]) == ("summer", "S1", "offline")
    assert [line["sku"] for line in alice["lines"]] == ["hat", "shoe"]
    assert [a["amount"] for a in alice["allocations"]] == [100, 200]
    assert (alice["discount"], alice["costs"]) == (200, {"group": 160, "store": 40})

    pages, cursor = [], None
    while True:
        page = reports.redemptions("acme", RedemptionQuery(), limit=3, before=cursor)
        pages += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursor = int(cursor)
    assert pages == everything
    exported = reports.iter_redemptions("acme", reports.redemption_filter("acme", RedemptionQuery()), page=4)
    assert [row["id"] for row in exported] == everything


def test_customer_360(built: Built) -> None:
    _, reports, facts = built
    alice = reports.customer("acme", "alice", history=3)
    assert [v["campaign"]["key"] for v in alice["wallet"]] == ["summer"]
    assert alice["points"] == [{"program": "main", "category": "regular", "balance": 50}]
    assert alice["redemption_counts"] == {"redeemed": 3, "partially_reversed": 1, "rejected": 1}
    assert alice["lifetime_discount"] == [{"currency": "EUR", "amount": 200 + 300 + 2 * 500}]
    assert [(f["key"], f["redemptions"], f["discount"]) for f in alice["favourite_campaigns"]] == [
        ("other", 2, 1000), ("summer-shoes", 1, 300), ("summer", 1, 200)]
    assert len(alice["redemptions"]["items"]) == 3 and alice["redemptions"]["next_cursor"]
    assert alice["redemptions"]["items"][0]["id"] != facts["alice"]["id"]  # newest first
    nobody = reports.customer("acme", "nobody")
    assert (nobody["wallet"], nobody["favourite_campaigns"], nobody["lifetime_discount"]) == ([], [], [])


def test_the_report_read_model_rebuilds_and_audits_clean(built: Built) -> None:
    c, reports, _ = built
    before = reports.campaign_report("acme", "summer")
    assert c.projections.audit("campaign_report").ok
    c.projections.rebuild("campaign_report")
    assert reports.campaign_report("acme", "summer") == before


def test_read_your_writes_and_bad_ranges(make_container: Callable[..., Container]) -> None:
    c = make_container(read_wait_seconds=5)
    reports = ReportService(c.queries)
    live(c, "fresh")
    code = c.vouchers.issue_codes(ACME, "fresh", count=1).body["codes"][0]
    c.start_projections()
    result = c.redemptions.redeem(ACME, RedeemRequest(code=code, order=Order.build(2000, "EUR", None, [])))
    report = reports.campaign_report("acme", "fresh", min_position=result.position)
    assert report["totals"][0]["redeemed"] == 1
    with pytest.raises(InvalidInput) as bad:
        reports.campaign_report("acme", "fresh", since=date(2026, 3, 2), until=date(2026, 3, 1))
    assert bad.value.code == "invalid_date_range"
    with pytest.raises(NotFound) as missing:
        reports.campaign_report("acme", "nope")
    assert missing.value.code == "campaign_not_found"
