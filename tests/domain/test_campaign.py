"""Campaign aggregate: terms validation, the review lifecycle, revisions and stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.campaign import (
    MAX_CODES_PER_REQUEST,
    MULTI_USE,
    SINGLE_USE,
    Campaign,
    CampaignTerms,
    Status,
)
from domain.codes import CodeSpec
from domain.errors import InvalidInput, InvalidTransition
from domain.rewards import AmountOff, CashVoucher, PercentOff
from tests.domain.builders import (
    BY,
    MERCHANT,
    assert_replays_to,
    at,
    campaign_in,
    draft_campaign,
    live_campaign,
    make_terms,
    names,
    replay,
)

# -- creation -----------------------------------------------------------------------------


def test_create_starts_a_draft_with_validated_terms_and_a_created_event() -> None:
    campaign = Campaign.create(MERCHANT, "spring", make_terms(stock=100), BY, at())

    assert campaign.id == Campaign.id_for(MERCHANT, "spring")
    assert (campaign.merchant_id, campaign.key, campaign.status) == (MERCHANT, "spring", Status.DRAFT)
    assert campaign.terms == make_terms(stock=100)
    assert (campaign.issued, campaign.remaining_stock, campaign.version) == (0, 100, 1)
    [created] = campaign.collect_events()
    assert isinstance(created, Campaign.Created)
    assert (created.merchant_id, created.key, created.by, created.timestamp) == (MERCHANT, "spring", BY, at())
    assert created.terms == make_terms(stock=100).to_dict()
    assert created.terms["reward"] == {"type": "amount_off", "amount": 500, "min_spend": 0}


def test_campaign_id_is_derived_from_merchant_and_key() -> None:
    assert Campaign.id_for("acme", "spring") == Campaign.id_for("acme", "spring")
    assert Campaign.id_for("acme", "spring") != Campaign.id_for("other", "spring")
    assert Campaign.id_for("acme", "spring") != Campaign.id_for("acme", "summer")


@pytest.mark.parametrize("key", ["", "-spring", ".spring", "spring sale", "spr/ing", "k" * 65, "été"])
def test_create_refuses_a_malformed_key(key: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Campaign.create(MERCHANT, key, make_terms(), BY, at())
    assert exc.value.code == "invalid_campaign_key"


@pytest.mark.parametrize("key", ["a", "Spring_2026.v2-b", "k" * 64])
def test_create_accepts_keys_of_letters_digits_dots_dashes_underscores(key: str) -> None:
    assert Campaign.create(MERCHANT, key, make_terms(), BY, at()).key == key


def test_create_refuses_a_key_with_a_trailing_newline() -> None:
    with pytest.raises(InvalidInput):
        Campaign.create(MERCHANT, "spring\n", make_terms(), BY, at())


# -- terms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name": ""}, "invalid_name"),
        ({"name": "   "}, "invalid_name"),
        ({"name": "n" * 201}, "invalid_name"),
        ({"currency": "XXX"}, "unknown_currency"),
        ({"currency": "eur"}, "unknown_currency"),
        ({"voucher_type": "forever"}, "invalid_voucher_type"),
        ({"voucher_type": MULTI_USE, "redemption_limit": 0}, "invalid_limit"),
        ({"per_customer_limit": 0}, "invalid_limit"),
        ({"stock": 0}, "invalid_limit"),
        ({"stock": 10**12 + 1}, "invalid_limit"),
        ({"reward": CashVoucher(price=300, face_value=250)}, "invalid_reward"),
        ({"reward": PercentOff(basis_points=0)}, "invalid_reward"),
        ({"reward": AmountOff(0)}, "invalid_amount"),
        ({"code_spec": CodeSpec(length=3)}, "invalid_code_spec"),
    ],
)
def test_terms_validation_refuses_bad_values(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        make_terms(**overrides).validate()
    assert exc.value.code == code


def test_limit_error_names_the_offending_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        make_terms(per_customer_limit=-1).validate()
    assert exc.value.extra == {"field": "per_customer_limit"}


def test_name_of_200_characters_and_limits_of_10_to_the_12_are_accepted() -> None:
    terms = make_terms(name="n" * 200, voucher_type=MULTI_USE, redemption_limit=10**12,
                       per_customer_limit=10**12).validate()
    assert terms.redemption_limit == 10**12


@pytest.mark.parametrize("limit", [None, 1, 5])
def test_single_use_forces_redemption_limit_one(limit: int | None) -> None:
    terms = make_terms(voucher_type=SINGLE_USE, redemption_limit=limit).validate()
    assert terms.redemption_limit == 1


def test_multi_use_keeps_its_limit_and_may_be_unlimited() -> None:
    assert make_terms(voucher_type=MULTI_USE, redemption_limit=5).validate().redemption_limit == 5
    assert make_terms(voucher_type=MULTI_USE, redemption_limit=None).validate().redemption_limit is None


def test_created_campaign_stores_the_forced_single_use_limit() -> None:
    campaign = draft_campaign(voucher_type=SINGLE_USE, redemption_limit=7)
    assert campaign.terms.redemption_limit == 1
    assert campaign.collect_events()[0].terms["redemption_limit"] == 1


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_terms_refuse_naive_datetimes(field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        make_terms(**{field: datetime(2026, 3, 1, 9, 0)}).validate()
    assert exc.value.code == "naive_datetime"
    assert exc.value.extra == {"field": field}


@pytest.mark.parametrize("ends", [at(), at(hours=-1)], ids=["equal", "before"])
def test_terms_refuse_ends_at_not_after_starts_at(ends: datetime) -> None:
    with pytest.raises(InvalidInput) as exc:
        make_terms(starts_at=at(), ends_at=ends).validate()
    assert exc.value.code == "invalid_window"


def test_terms_convert_window_times_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    terms = make_terms(starts_at=datetime(2026, 3, 1, 10, 0, tzinfo=paris),
                       ends_at=datetime(2026, 3, 2, 10, 0, tzinfo=paris)).validate()
    assert terms.starts_at == at()
    assert terms.starts_at.tzinfo == UTC
    assert terms.ends_at is not None and terms.ends_at.utcoffset() == timedelta(0)


def test_terms_with_only_one_window_end_are_valid() -> None:
    assert make_terms(starts_at=at()).validate().ends_at is None
    assert make_terms(ends_at=at()).validate().starts_at is None


def test_terms_refuse_stock_the_code_space_cannot_hide() -> None:
    spec = CodeSpec(length=4, charset="ABCD")  # 256 codes
    with pytest.raises(InvalidInput) as exc:
        make_terms(code_spec=spec, stock=1).validate()
    assert exc.value.code == "code_space_too_small"
    # 32^4 = 1,048,576 codes: room for 1,048 at a factor of 1,000, not 1,049
    assert make_terms(code_spec=CodeSpec(length=4), stock=1048).validate().stock == 1048
    with pytest.raises(InvalidInput):
        make_terms(code_spec=CodeSpec(length=4), stock=1049).validate()


def test_terms_round_trip_through_their_dict_form() -> None:
    terms = make_terms(reward=PercentOff(1250, max_discount=2000, min_spend=100), voucher_type=MULTI_USE,
                       redemption_limit=3, per_customer_limit=2, stock=50, starts_at=at(),
                       ends_at=at(days=30), description="d", code_spec=CodeSpec(prefix="SP-")).validate()
    assert CampaignTerms.from_dict(terms.to_dict()) == terms


def test_terms_from_dict_refuses_unknown_fields() -> None:
    data = make_terms().to_dict() | {"colour": "red"}
    with pytest.raises(InvalidInput) as exc:
        CampaignTerms.from_dict(data)
    assert exc.value.code == "invalid_terms"


def test_terms_from_dict_refuses_a_missing_reward() -> None:
    data = make_terms().to_dict()
    del data["reward"]
    with pytest.raises(InvalidInput) as exc:
        CampaignTerms.from_dict(data)
    assert exc.value.code == "invalid_reward"


# -- lifecycle ----------------------------------------------------------------------------


def test_campaign_goes_through_review_to_active_then_ended() -> None:
    campaign = draft_campaign()
    campaign.submit(BY, at(minutes=1))
    assert campaign.status == Status.PENDING_REVIEW
    campaign.approve("reviewer", at(minutes=2))
    assert campaign.status == Status.APPROVED
    campaign.activate(BY, at(minutes=3))
    assert campaign.status == Status.ACTIVE
    campaign.end(BY, at(days=1))
    assert campaign.status == Status.ENDED

    events = campaign.collect_events()
    assert names(events) == ["Campaign.Created", "Campaign.Submitted", "Campaign.Approved",
                             "Campaign.Activated", "Campaign.Ended"]
    assert [e.originator_version for e in events] == [1, 2, 3, 4, 5]
    assert events[2].by == "reviewer"
    assert events[4].timestamp == at(days=1)
    assert campaign.modified_on == at(days=1)


def test_rejected_campaign_is_revised_back_to_draft_and_resubmitted() -> None:
    campaign = draft_campaign()
    campaign.submit(BY, at(minutes=1))
    campaign.reject("reviewer", "  discount too generous  ", at(minutes=2))
    assert campaign.status == Status.REJECTED

    campaign.revise(make_terms(reward=AmountOff(300)), BY, at(minutes=3))
    assert campaign.status == Status.DRAFT
    assert campaign.terms.reward == AmountOff(300)
    campaign.submit(BY, at(minutes=4))

    events = campaign.collect_events()
    assert names(events)[1:] == ["Campaign.Submitted", "Campaign.Rejected", "Campaign.Revised",
                                 "Campaign.Submitted"]
    rejected, revised = events[2], events[3]
    assert (rejected.by, rejected.reason) == ("reviewer", "discount too generous")
    assert revised.terms["reward"] == {"type": "amount_off", "amount": 300, "min_spend": 0}
    assert_replays_to(campaign, events)


def test_revise_in_draft_replaces_the_terms_with_validated_ones() -> None:
    campaign = draft_campaign()
    campaign.collect_events()
    campaign.revise(make_terms(name="Renamed", redemption_limit=9), "editor", at(minutes=5))
    assert campaign.terms.name == "Renamed"
    assert campaign.terms.redemption_limit == 1  # still single use
    [revised] = campaign.collect_events()
    assert isinstance(revised, Campaign.Revised)
    assert (revised.by, revised.timestamp, revised.terms["name"]) == ("editor", at(minutes=5), "Renamed")


ALL_STATUSES = [Status.DRAFT, Status.PENDING_REVIEW, Status.APPROVED, Status.REJECTED, Status.ACTIVE,
                Status.ENDED, Status.DISABLED]
ALLOWED = {
    "revise": {Status.DRAFT, Status.REJECTED},
    "submit": {Status.DRAFT},
    "approve": {Status.PENDING_REVIEW},
    "reject": {Status.PENDING_REVIEW},
    "activate": {Status.APPROVED},
    "end": {Status.ACTIVE},
    "disable": set(ALL_STATUSES) - {Status.DISABLED},
}


def _run(campaign: Campaign, action: str) -> None:
    if action == "revise":
        campaign.revise(make_terms(), BY, at(hours=1))
    elif action in ("reject", "disable"):
        getattr(campaign, action)(BY, "a reason", at(hours=1))
    else:
        getattr(campaign, action)(BY, at(hours=1))


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_each_command_is_allowed_only_in_its_states(action: str, status: str) -> None:
    campaign = campaign_in(status)
    version = campaign.version
    if status in ALLOWED[action]:
        _run(campaign, action)
        assert campaign.version == version + 1
        assert len(campaign.collect_events()) == 1
    else:
        with pytest.raises(InvalidTransition) as exc:
            _run(campaign, action)
        assert exc.value.code == "invalid_transition"
        assert campaign.status == status
        assert campaign.version == version
        assert campaign.collect_events() == []


def test_refused_transition_names_the_current_status() -> None:
    campaign = campaign_in(Status.ACTIVE)
    with pytest.raises(InvalidTransition) as exc:
        campaign.revise(make_terms(), BY, at())
    assert exc.value.extra == {"current_status": Status.ACTIVE}
    assert "revise" in exc.value.detail


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != Status.DISABLED])
def test_disable_works_from_any_state_and_records_who_and_why(status: str) -> None:
    campaign = campaign_in(status)
    campaign.disable("test:admin", " fraud suspected ", at(days=2))
    assert campaign.status == Status.DISABLED
    [disabled] = campaign.collect_events()
    assert isinstance(disabled, Campaign.Disabled)
    assert (disabled.by, disabled.reason, disabled.timestamp) == ("test:admin", "fraud suspected", at(days=2))


@pytest.mark.parametrize("reason", ["", "   ", "r" * 501])
@pytest.mark.parametrize("action", ["reject", "disable"])
def test_reject_and_disable_need_a_reason_of_1_to_500_characters(action: str, reason: str) -> None:
    campaign = campaign_in(Status.PENDING_REVIEW)
    with pytest.raises(InvalidInput) as exc:
        getattr(campaign, action)(BY, reason, at())
    assert exc.value.code == "reason_required"
    assert campaign.status == Status.PENDING_REVIEW
    assert campaign.collect_events() == []


def test_a_reason_of_500_characters_is_accepted() -> None:
    campaign = campaign_in(Status.PENDING_REVIEW)
    campaign.reject(BY, "r" * 500, at())
    assert campaign.collect_events()[0].reason == "r" * 500


def test_activate_refuses_once_the_window_has_passed() -> None:
    campaign = draft_campaign(starts_at=at(), ends_at=at(days=7))
    campaign.submit(BY, at())
    campaign.approve(BY, at())
    campaign.collect_events()
    for when in (at(days=7), at(days=8)):
        with pytest.raises(InvalidTransition) as exc:
            campaign.activate(BY, when)
        assert exc.value.code == "campaign_window_passed"
    assert campaign.collect_events() == []
    campaign.activate(BY, at(days=7, seconds=-1))
    assert campaign.status == Status.ACTIVE


def test_activate_before_the_start_is_allowed() -> None:
    campaign = draft_campaign(starts_at=at(days=3), ends_at=at(days=7))
    campaign.submit(BY, at())
    campaign.approve(BY, at())
    campaign.activate(BY, at())
    assert campaign.status == Status.ACTIVE


# -- revisions and stock ------------------------------------------------------------------


def test_revise_refuses_invalid_terms_without_changing_anything() -> None:
    campaign = campaign_in(Status.DRAFT)
    with pytest.raises(InvalidInput) as exc:
        campaign.revise(make_terms(currency="ZZZ"), BY, at())
    assert exc.value.code == "unknown_currency"
    assert campaign.terms == make_terms()
    assert campaign.collect_events() == []


def test_revise_refuses_stock_below_vouchers_already_issued() -> None:
    campaign = draft_campaign(stock=100)
    campaign.issue_vouchers(40, at())
    campaign.collect_events()
    with pytest.raises(InvalidInput) as exc:
        campaign.revise(make_terms(stock=39), BY, at())
    assert exc.value.code == "stock_below_issued"
    campaign.revise(make_terms(stock=40), BY, at())
    assert campaign.remaining_stock == 0


def test_issue_vouchers_takes_from_stock() -> None:
    campaign = live_campaign(stock=10)
    campaign.collect_events()
    campaign.issue_vouchers(3, at(hours=1))
    campaign.issue_vouchers(7, at(hours=2))
    assert (campaign.issued, campaign.remaining_stock) == (10, 0)
    events = campaign.collect_events()
    assert names(events) == ["Campaign.VouchersIssued", "Campaign.VouchersIssued"]
    assert [e.count for e in events] == [3, 7]


def test_stock_exhaustion_is_refused_and_says_how_many_remain() -> None:
    campaign = live_campaign(stock=10)
    campaign.issue_vouchers(8, at())
    campaign.collect_events()
    with pytest.raises(InvalidTransition) as exc:
        campaign.issue_vouchers(3, at())
    assert exc.value.code == "stock_exhausted"
    assert exc.value.extra == {"remaining": 2}
    assert "2" in exc.value.detail
    assert (campaign.issued, campaign.collect_events()) == (8, [])


def test_unlimited_stock_has_no_remaining_count() -> None:
    campaign = live_campaign()
    campaign.issue_vouchers(MAX_CODES_PER_REQUEST, at())
    assert (campaign.issued, campaign.remaining_stock) == (MAX_CODES_PER_REQUEST, None)


@pytest.mark.parametrize("count", [0, -1, MAX_CODES_PER_REQUEST + 1])
def test_issue_vouchers_refuses_a_count_outside_1_to_10000(count: int) -> None:
    campaign = live_campaign()
    with pytest.raises(InvalidInput) as exc:
        campaign.issue_vouchers(count, at())
    assert exc.value.code == "invalid_count"


@pytest.mark.parametrize("status", [Status.ENDED, Status.DISABLED])
def test_closed_campaign_issues_no_vouchers(status: str) -> None:
    campaign = campaign_in(status)
    with pytest.raises(InvalidTransition) as exc:
        campaign.issue_vouchers(1, at())
    assert exc.value.code == "campaign_closed"
    assert campaign.collect_events() == []


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PENDING_REVIEW, Status.APPROVED, Status.REJECTED])
def test_vouchers_can_be_issued_before_the_campaign_goes_live(status: str) -> None:
    campaign = campaign_in(status)
    campaign.issue_vouchers(1, at())
    assert campaign.issued == 1


def test_generated_codes_are_refused_when_the_code_space_would_become_guessable() -> None:
    campaign = draft_campaign(code_spec=CodeSpec(length=4, charset="ABCDEFGH"))  # 4,096 codes
    campaign.issue_vouchers(4, at())
    campaign.collect_events()
    with pytest.raises(InvalidInput) as exc:
        campaign.issue_vouchers(1, at())  # 5 * 1000 > 4096
    assert exc.value.code == "code_space_too_small"
    # explicit codes do not come from the spec, so its space does not limit them
    campaign.issue_vouchers(1, at(), generated=False)
    assert campaign.issued == 5


def test_replaying_a_campaigns_events_rebuilds_its_state() -> None:
    campaign = draft_campaign(stock=100, starts_at=at(), ends_at=at(days=30))
    campaign.revise(make_terms(stock=200, reward=PercentOff(1500, max_discount=1000)), BY, at(minutes=1))
    campaign.submit(BY, at(minutes=2))
    campaign.approve(BY, at(minutes=3))
    campaign.activate(BY, at(minutes=4))
    campaign.issue_vouchers(25, at(minutes=5))
    campaign.disable(BY, "done", at(minutes=6))

    events = campaign.collect_events()
    rebuilt = replay(events)
    assert isinstance(rebuilt, Campaign)
    assert (rebuilt.status, rebuilt.issued, rebuilt.remaining_stock) == (Status.DISABLED, 25, 175)
    assert rebuilt.terms == campaign.terms
    assert_replays_to(campaign, events)
