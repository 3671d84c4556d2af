"""Voucher aggregate: issue, assign, redeem and reverse; the limit and holder invariants."""

from __future__ import annotations

import pytest

from domain.errors import InvalidTransition
from domain.voucher import Voucher, VoucherState
from tests.domain.builders import MERCHANT, assert_replays_to, at, names, new_voucher, rid


def test_issued_voucher_is_open_and_named_by_its_code() -> None:
    voucher = new_voucher("SPRING-0001", 1)

    assert voucher.id == Voucher.id_for(MERCHANT, "SPRING-0001")
    assert (voucher.code, voucher.merchant_id, voucher.redemption_limit) == ("SPRING-0001", MERCHANT, 1)
    assert (voucher.holder, voucher.redemptions, voucher.redemption_count) == (None, [], 0)
    assert (voucher.state, voucher.exhausted) == (VoucherState.OPEN, False)
    [issued] = voucher.collect_events()
    assert isinstance(issued, Voucher.Issued)
    assert (issued.code, issued.campaign_id, issued.holder, issued.source, issued.timestamp) == (
        "SPRING-0001", voucher.campaign_id, None, "generated", at())


def test_voucher_id_is_unique_per_merchant_and_code() -> None:
    assert Voucher.id_for("acme", "ABC123") == Voucher.id_for("acme", "ABC123")
    assert Voucher.id_for("acme", "ABC123") != Voucher.id_for("globex", "ABC123")
    assert Voucher.id_for("acme", "ABC123") != Voucher.id_for("acme", "ABC124")


def test_voucher_issued_to_a_holder_starts_assigned() -> None:
    voucher = new_voucher(holder="cust-1", source="explicit")
    assert (voucher.holder, voucher.state) == ("cust-1", VoucherState.ASSIGNED)
    [issued] = voucher.collect_events()
    assert (issued.holder, issued.source) == ("cust-1", "explicit")


# -- assign -------------------------------------------------------------------------------


def test_assign_gives_an_open_voucher_to_a_customer() -> None:
    voucher = new_voucher("WALLET1", 3)
    voucher.collect_events()
    voucher.assign("cust-1", at(hours=1))

    assert (voucher.holder, voucher.state) == ("cust-1", VoucherState.ASSIGNED)
    [assigned] = voucher.collect_events()
    assert isinstance(assigned, Voucher.Assigned)
    assert (assigned.customer_id, assigned.campaign_id, assigned.code, assigned.redemption_limit) == (
        "cust-1", voucher.campaign_id, "WALLET1", 3)
    assert (assigned.originator_version, assigned.timestamp) == (2, at(hours=1))


@pytest.mark.parametrize("second", ["cust-1", "cust-2"])
def test_assigning_twice_is_refused(second: str) -> None:
    voucher = new_voucher()
    voucher.assign("cust-1", at())
    voucher.collect_events()
    with pytest.raises(InvalidTransition) as exc:
        voucher.assign(second, at())
    assert exc.value.code == "voucher_already_assigned"
    assert voucher.holder == "cust-1"
    assert voucher.collect_events() == []


def test_a_used_voucher_cannot_be_assigned() -> None:
    voucher = new_voucher(redemption_limit=5)
    voucher.redeem(rid(), None, 100, at())
    voucher.collect_events()
    with pytest.raises(InvalidTransition) as exc:
        voucher.assign("cust-1", at())
    assert exc.value.code == "voucher_already_used"
    assert voucher.collect_events() == []


def test_a_voucher_whose_uses_were_all_reversed_can_be_assigned() -> None:
    voucher = new_voucher()
    redemption = rid()
    voucher.redeem(redemption, None, 100, at())
    voucher.reverse_redemption(redemption, "returned", at())
    voucher.assign("cust-1", at())
    assert voucher.state == VoucherState.ASSIGNED


# -- redeem -------------------------------------------------------------------------------


def test_single_use_voucher_is_redeemed_once() -> None:
    voucher = new_voucher()
    voucher.collect_events()
    redemption = rid()
    voucher.redeem(redemption, "cust-9", 500, at(hours=2))

    assert (voucher.state, voucher.exhausted) == (VoucherState.REDEEMED, True)
    assert voucher.redemptions == [redemption]
    [redeemed] = voucher.collect_events()
    assert isinstance(redeemed, Voucher.Redeemed)
    assert (redeemed.redemption_id, redeemed.customer_id, redeemed.discount, redeemed.campaign_id) == (
        redemption, "cust-9", 500, voucher.campaign_id)

    with pytest.raises(InvalidTransition) as exc:
        voucher.redeem(rid(), "cust-9", 500, at(hours=3))
    assert exc.value.code == "redemption_limit_reached"
    assert voucher.redemption_count == 1
    assert voucher.collect_events() == []


def test_multi_use_code_refuses_redemption_past_limit() -> None:
    voucher = new_voucher("TEAM10", 3)
    for i in range(3):
        assert voucher.state == VoucherState.OPEN
        voucher.redeem(rid(), f"cust-{i}", 100, at(minutes=i))
    assert (voucher.redemption_count, voucher.state) == (3, VoucherState.REDEEMED)
    with pytest.raises(InvalidTransition) as exc:
        voucher.redeem(rid(), "cust-4", 100, at(minutes=4))
    assert exc.value.code == "redemption_limit_reached"
    assert names(voucher.collect_events()) == ["Voucher.Issued"] + ["Voucher.Redeemed"] * 3


def test_unlimited_code_is_never_exhausted() -> None:
    voucher = new_voucher("EVERYONE", None)
    for i in range(50):
        voucher.redeem(rid(), None, 1, at(seconds=i))
    assert (voucher.redemption_count, voucher.exhausted, voucher.state) == (50, False, VoucherState.OPEN)


def test_assigned_voucher_is_redeemed_by_its_holder() -> None:
    voucher = new_voucher(holder="cust-1")
    voucher.redeem(rid(), "cust-1", 500, at())
    assert voucher.state == VoucherState.REDEEMED


@pytest.mark.parametrize("customer", ["cust-2", None, "CUST-1", ""])
def test_holder_mismatch_is_refused(customer: str | None) -> None:
    voucher = new_voucher(holder="cust-1")
    voucher.collect_events()
    with pytest.raises(InvalidTransition) as exc:
        voucher.redeem(rid(), customer, 500, at())
    assert exc.value.code == "voucher_not_owned"
    assert voucher.redemptions == []
    assert voucher.collect_events() == []


def test_exhausted_voucher_reports_the_limit_before_the_holder() -> None:
    voucher = new_voucher(holder="cust-1")
    voucher.redeem(rid(), "cust-1", 500, at())
    with pytest.raises(InvalidTransition) as exc:
        voucher.redeem(rid(), "cust-2", 500, at())
    assert exc.value.code == "redemption_limit_reached"


def test_assigned_multi_use_voucher_stays_assigned_until_exhausted() -> None:
    voucher = new_voucher(redemption_limit=2, holder="cust-1")
    voucher.redeem(rid(), "cust-1", 10, at())
    assert voucher.state == VoucherState.ASSIGNED
    voucher.redeem(rid(), "cust-1", 10, at())
    assert voucher.state == VoucherState.REDEEMED


# -- reverse ------------------------------------------------------------------------------


def test_reversal_gives_the_use_back() -> None:
    voucher = new_voucher(holder="cust-1")
    redemption = rid()
    voucher.redeem(redemption, "cust-1", 500, at())
    voucher.collect_events()

    voucher.reverse_redemption(redemption, "order returned", at(days=1))

    assert (voucher.redemptions, voucher.state) == ([], VoucherState.ASSIGNED)
    [reversed_] = voucher.collect_events()
    assert isinstance(reversed_, Voucher.RedemptionReversed)
    assert (reversed_.redemption_id, reversed_.reason, reversed_.campaign_id, reversed_.timestamp) == (
        redemption, "order returned", voucher.campaign_id, at(days=1))
    voucher.redeem(rid(), "cust-1", 500, at(days=2))
    assert voucher.state == VoucherState.REDEEMED


def test_reversal_removes_only_the_named_redemption() -> None:
    voucher = new_voucher(redemption_limit=3)
    first, second, third = rid(), rid(), rid()
    for redemption in (first, second, third):
        voucher.redeem(redemption, None, 1, at())
    voucher.reverse_redemption(second, "duplicate charge", at())
    assert voucher.redemptions == [first, third]
    assert voucher.state == VoucherState.OPEN


def test_reversal_of_unknown_redemption_is_refused() -> None:
    voucher = new_voucher()
    voucher.redeem(rid(), None, 500, at())
    voucher.collect_events()
    with pytest.raises(InvalidTransition) as exc:
        voucher.reverse_redemption(rid(), "typo", at())
    assert exc.value.code == "redemption_not_reversible"
    assert voucher.redemption_count == 1
    assert voucher.collect_events() == []


def test_a_redemption_cannot_be_reversed_twice() -> None:
    voucher = new_voucher()
    redemption = rid()
    voucher.redeem(redemption, None, 500, at())
    voucher.reverse_redemption(redemption, "returned", at())
    with pytest.raises(InvalidTransition) as exc:
        voucher.reverse_redemption(redemption, "returned again", at())
    assert exc.value.code == "redemption_not_reversible"


# -- replay -------------------------------------------------------------------------------


def test_replaying_a_vouchers_events_rebuilds_its_state() -> None:
    voucher = new_voucher("REPLAY1", 3)
    first, second = rid(), rid()
    voucher.assign("cust-1", at(minutes=1))
    voucher.redeem(first, "cust-1", 500, at(minutes=2))
    voucher.redeem(second, "cust-1", 500, at(minutes=3))
    voucher.reverse_redemption(first, "returned", at(minutes=4))

    events = voucher.collect_events()
    assert names(events) == ["Voucher.Issued", "Voucher.Assigned", "Voucher.Redeemed", "Voucher.Redeemed",
                             "Voucher.RedemptionReversed"]
    assert [e.originator_version for e in events] == [1, 2, 3, 4, 5]
    assert_replays_to(voucher, events)
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, Voucher)
    assert (rebuilt.holder, rebuilt.redemptions, rebuilt.state, rebuilt.version) == (
        "cust-1", [second], VoucherState.ASSIGNED, 5)
    assert rebuilt.modified_on == at(minutes=4)


def test_replay_rebuilds_fresh_lists_for_each_voucher() -> None:
    one, two = new_voucher("ONE111"), new_voucher("TWO222")
    one.redeem(rid(), None, 1, at())
    assert two.redemptions == []
    rebuilt_two = new_voucher("TWO222").collect_events()[0].mutate(None)
    assert rebuilt_two.redemptions == []
