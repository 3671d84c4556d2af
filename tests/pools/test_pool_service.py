"""Partner code pools through the application layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from application.commands import Actor
from application.pools import FileRejected, SoldOut
from domain.errors import DomainError
from domain.pool import CodePool
from infrastructure.bootstrap import Container
from tests.pools.helpers import code, pool_campaign, sold_codes, upload


def stock(container: Container, key: str = "oishi") -> dict:
    container.pool_stock.caught_up(container.ledger.head())
    found = container.pool_stock.stock("acme", CodePool.id_for("acme", key))
    assert found is not None
    return found


def export(container: Container, *statuses: str) -> list[str]:
    container.pool_stock.caught_up(container.ledger.head())
    return [r["code"] for r in container.pool_stock.export("acme", CodePool.id_for("acme", "oishi"),
                                                           statuses)]


def test_bad_file_is_refused_whole_with_every_bad_line_named(container: Container, admin: Actor) -> None:
    pool_campaign(container, admin)
    upload(container, admin, [code(1), code(2)])

    # act: a file with a blank, a malformed line, an in-file and an in-pool duplicate
    with pytest.raises(FileRejected) as refused:
        upload(container, admin, [code(3), "", "BAD-CODE", code(3), code(1), code(4)])

    # assert: each bad line with its number and reason; nothing imported
    errors = [(e["line"], e["reason"]) for e in refused.value.extra["errors"]]
    assert errors == [(2, "blank"), (3, "too_short"), (4, "duplicate_in_file"), (5, "already_in_pool")]
    assert refused.value.extra["rejected"] == 4
    assert stock(container)["uploaded"] == 2


def test_skip_invalid_imports_the_good_lines_and_reupload_is_idempotent(
    container: Container, admin: Actor
) -> None:
    pool_campaign(container, admin)
    lines = [code(1), "nope", code(2), code(1)]

    first = upload(container, admin, lines, skip_invalid=True)
    again = upload(container, admin, lines, skip_invalid=True)
    plain_again = upload(container, admin, lines)  # same content: the batch it already is

    assert (first.status, first.body["accepted"], first.body["rejected"]) == (201, 2, 2)
    assert [(e["line"], e["reason"]) for e in first.body["errors"]] == [(2, "too_short"),
                                                                         (4, "duplicate_in_file")]
    assert again.status == plain_again.status == 200
    assert again.body["already_imported"] and again.body["batch_id"] == first.body["batch_id"]
    assert again.body["errors"] == first.body["errors"]
    pool = container.pools.get_pool("acme", "oishi")
    assert [(b["count"], b["rejected"], b["uploaded_by"], b["filename"]) for b in pool["batches"]] == [
        (2, 2, "test:admin", "codes.csv")]
    assert stock(container)["uploaded"] == 2


def test_retried_sale_returns_the_same_codes(container: Container, admin: Actor) -> None:
    pool_campaign(container, admin)
    upload(container, admin, [code(i) for i in range(20)])

    first = container.pools.sell(admin, "oishi", "order-1", quantity=3, customer_id="c-1")
    retried = container.pools.sell(admin, "oishi", "order-1", quantity=3, customer_id="c-1")
    keyed = container.pools.sell(admin, "oishi", "order-2", customer_id="c-1", idempotency_key="k2")
    keyed_again = container.pools.sell(admin, "oishi", "order-2", customer_id="c-1", idempotency_key="k2")

    assert first.status == 201 and retried.status == 200
    assert retried.body == first.body and len(set(sold_codes(first))) == 3
    assert keyed_again.replayed and keyed_again.body == keyed.body
    internal = [c["internal_code"] for c in first.body["codes"]]
    assert len(set(internal)) == 3 and all(len(c) == 12 for c in internal)
    with pytest.raises(DomainError) as taken:
        container.pools.sell(admin, "oishi", "order-1", quantity=2, customer_id="c-1")
    assert taken.value.code == "order_line_taken"


def test_unsold_export_plus_sold_list_is_the_uploaded_list(container: Container, admin: Actor) -> None:
    pool_campaign(container, admin)
    uploaded = [code(i) for i in range(40)]
    upload(container, admin, uploaded[:25])
    upload(container, admin, uploaded[25:], filename="refill.csv")
    sold = [c for i in range(7) for c in sold_codes(container.pools.sell(admin, "oishi", f"o-{i}",
                                                                          quantity=2))]
    returned = export(container, "available")[:5]
    container.partner_codes.return_codes(admin, "oishi", returned, "selling period over")

    unsold, sold_list = export(container, "available", "returned"), export(container, "sold", "redeemed")
    assert sorted(unsold + sold_list) == sorted(uploaded)
    assert sorted(sold_list) == sorted(sold) and not set(unsold) & set(sold_list)
    counts = {k: v for k, v in stock(container).items()
              if k in ("uploaded", "available", "sold", "returned", "redeemed")}
    assert counts == {"uploaded": 40, "available": 21, "sold": 14, "returned": 5, "redeemed": 0}


def test_returned_codes_are_never_sold_and_sold_ones_cannot_be_returned(
    container: Container, admin: Actor
) -> None:
    pool_campaign(container, admin)
    upload(container, admin, [code(i) for i in range(6)])
    sold = sold_codes(container.pools.sell(admin, "oishi", "o-1", quantity=2))

    partial = container.partner_codes.return_codes(admin, "oishi", [*sold, code(99), code(2)], "end")
    everything = container.partner_codes.return_unsold(admin, "oishi", "end", idempotency_key="r1")
    replay = container.partner_codes.return_unsold(admin, "oishi", "end", idempotency_key="r1")

    assert partial.body["sold"] == sold and partial.body["unknown"] == [code(99)]
    assert partial.body["returned"] == (0 if code(2) in sold else 1)
    assert everything.body["returned"] + partial.body["returned"] == 4
    assert replay.replayed and replay.body == everything.body
    with pytest.raises(SoldOut):
        container.pools.sell(admin, "oishi", "o-2")


def test_partner_redemption_report_marks_sold_codes_and_reports_the_rest(
    container: Container, admin: Actor
) -> None:
    pool_campaign(container, admin)
    upload(container, admin, [code(i) for i in range(4)])
    sold = sold_codes(container.pools.sell(admin, "oishi", "o-1", customer_id="c-1"))[0]
    unsold = next(c for c in (code(i) for i in range(4)) if c != sold)

    report = container.partner_codes.report_redeemed(admin, "oishi", [sold, unsold, "ZZZ"], "june")
    again = container.partner_codes.report_redeemed(admin, "oishi", [sold], "june-again")

    assert (report.body["redeemed"], report.body["not_sold"], report.body["unknown"]) == (
        [sold], [unsold], ["ZZZ"])
    assert again.body["already_redeemed"] == [sold] and again.body["redeemed"] == []
    container.projections.catch_up()
    wallet = container.queries.wallet("acme", "c-1")["vouchers"]
    assert [(v["code"], v["partner_code"], v["status"], v["source"]) for v in wallet] == [
        (sold, sold, "redeemed", "partner")]
    internal = wallet[0]["internal_code"]
    assert container.partner_codes.look_up("acme", internal.lower())["status"] == "redeemed"


def test_low_stock_fires_once_and_again_only_after_a_refill(container: Container, admin: Actor) -> None:
    pool_campaign(container, admin, threshold=3)
    upload(container, admin, [code(i) for i in range(6)])
    container.start_projections()

    for i in range(5):
        result = container.pools.sell(admin, "oishi", f"o-{i}")
        container.pool_stock.caught_up(result.position)
    upload(container, admin, [code(i) for i in range(10, 15)], filename="refill.csv")
    assert not container.pools.get_pool("acme", "oishi")["low_stock"]  # 6 left: re-armed
    for i in range(5, 9):
        container.pool_stock.caught_up(container.pools.sell(admin, "oishi", f"o-{i}").position)

    events = [type(e).__name__ for e in container.ledger.events.get(CodePool.id_for("acme", "oishi"))]
    assert events.count("LowStock") == 2
    assert stock(container)["low_stock_alerts"] == 2 and stock(container)["low_stock"]


def test_internal_codes_never_collide_with_voucher_codes(container: Container, admin: Actor) -> None:
    pool_campaign(container, admin)
    upload(container, admin, [code(1)])
    internal = container.pools.sell(admin, "oishi", "o-1").body["codes"][0]["internal_code"]
    with pytest.raises(DomainError) as taken:
        container.vouchers.issue_codes(admin, "oishi", codes=[internal])
    assert taken.value.code == "codes_exist"


def test_pool_read_models_agree_with_a_replay_and_a_rebuild(container: Container, admin: Actor) -> None:
    pool_campaign(container, admin, threshold=2)
    upload(container, admin, [code(i) for i in range(5)])
    sold = sold_codes(container.pools.sell(admin, "oishi", "o-1", quantity=2, customer_id="c-1"))
    container.partner_codes.report_redeemed(admin, "oishi", sold[:1])
    container.partner_codes.return_unsold(admin, "oishi", "period over")
    container.projections.catch_up()

    for name in ("pool_stock", "wallet"):
        before = _rows(container, name)
        assert container.projections.audit(name).ok
        assert container.projections.audit(name, merchant_id="acme").ok
        container.projections.rebuild(name)
        assert _rows(container, name) == before


def _rows(container: Container, name: str) -> dict[str, list[tuple]]:
    projection = container.projections.runner(name).projection
    with container.db.transaction() as tx:
        return {t: sorted((tuple(sorted(r.items())) for r in tx.query(f"SELECT * FROM {t}")), key=repr)
                for t in projection.tables}


def test_a_pool_that_runs_dry_before_the_counter_showed_it_still_alerts_once(
    container: Container, admin: Actor
) -> None:
    pool_campaign(container, admin, threshold=1)
    upload(container, admin, [code(i) for i in range(3)])
    container.projections.catch_up()
    for i in range(3):  # the stock counter is not moved meanwhile: it still says 3
        container.pools.sell(admin, "oishi", f"o-{i}")

    for i in range(2):
        with pytest.raises(SoldOut):
            container.pools.sell(admin, "oishi", f"late-{i}")

    events = [type(e).__name__ for e in container.ledger.events.get(CodePool.id_for("acme", "oishi"))]
    assert events.count("LowStock") == 1
