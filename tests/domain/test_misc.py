"""Smaller domain pieces: redemptions, customer usage, idempotency, money, time, IDs, merchants, keys."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.api_key import ROLES, ApiKey, hash_secret
from domain.clock import iso, require_utc
from domain.errors import AlreadyExists, DomainError, InvalidInput, InvalidTransition, NotFound
from domain.idempotency import IdempotencyRecord, check_key, request_hash
from domain.ids import derive_id, global_id
from domain.merchant import Merchant, check_timezone
from domain.money import MAX_AMOUNT, MINOR_UNITS, check_amount, check_currency
from domain.redemption import Redemption, RedemptionStatus
from domain.usage import CustomerUsage
from tests.domain.builders import MERCHANT, assert_replays_to, at, names, rid

CAMPAIGN_ID = uuid.UUID("00000000-0000-0000-0000-00000000c0de")
VOUCHER_ID = uuid.UUID("00000000-0000-0000-0000-0000000000a0")


# -- redemption ---------------------------------------------------------------------------


def recorded(redemption_id: uuid.UUID | None = None, **overrides: Any) -> Redemption:
    facts: dict[str, Any] = {
        "merchant_id": MERCHANT, "voucher_id": VOUCHER_ID, "code": "SPRING-0001",
        "campaign_id": CAMPAIGN_ID, "campaign_version": 4, "customer_id": "cust-1",
        "order": {"amount": 3000, "currency": "EUR"}, "store_id": "store-9", "channel": "offline",
        "currency": "EUR", "discount": 500, "usage_counted": True, "voucher_version": 2, "customer_uses": 1,
        "points_awarded": 0,
    }
    return Redemption.record(redemption_id or rid(), at(), **{**facts, **overrides})


def rejected() -> Redemption:
    return Redemption.reject(
        rid(), at(), merchant_id=MERCHANT, code="NOSUCHCODE", voucher_id=None, campaign_id=None,
        campaign_version=None, customer_id=None, order={"amount": 3000, "currency": "EUR"}, store_id=None,
        channel=None, reasons=[{"code": "unknown_code", "message": "no such code"}], voucher_version=None,
        customer_uses=0,
    )


def test_recorded_redemption_keeps_the_facts_of_the_decision() -> None:
    redemption_id = rid()
    redemption = recorded(redemption_id)
    assert redemption.id == redemption_id
    assert (redemption.status, redemption.merchant_id, redemption.reversal) == (
        RedemptionStatus.REDEEMED, MERCHANT, None)
    assert redemption.facts["discount"] == 500
    assert (redemption.facts["campaign_version"], redemption.facts["voucher_version"]) == (4, 2)
    assert redemption.facts["customer_uses"] == 1
    [event] = redemption.collect_events()
    assert isinstance(event, Redemption.Recorded)
    assert (event.voucher_id, event.discount, event.usage_counted) == (VOUCHER_ID, 500, True)


def test_rejected_redemption_keeps_every_reason() -> None:
    redemption = rejected()
    assert redemption.status == RedemptionStatus.REJECTED
    assert redemption.facts["reasons"] == [{"code": "unknown_code", "message": "no such code"}]
    assert (redemption.facts["voucher_version"], redemption.facts["customer_uses"]) == (None, 0)
    assert isinstance(redemption.collect_events()[0], Redemption.Rejected)


def test_reversal_names_what_it_corrects() -> None:
    redemption = recorded()
    redemption.collect_events()
    redemption.reverse("  order returned ", "test:support", at(days=1))

    assert redemption.status == RedemptionStatus.REVERSED
    assert redemption.reversal == {"reason": "order returned", "by": "test:support", "at": at(days=1)}
    [event] = redemption.collect_events()
    assert isinstance(event, Redemption.Reversed)
    assert (event.voucher_id, event.campaign_id, event.discount, event.reason, event.by) == (
        VOUCHER_ID, CAMPAIGN_ID, 500, "order returned", "test:support")


def test_a_redemption_is_reversed_at_most_once() -> None:
    redemption = recorded()
    redemption.reverse("returned", "support", at())
    redemption.collect_events()
    with pytest.raises(InvalidTransition) as exc:
        redemption.reverse("returned", "support", at())
    assert exc.value.code == "redemption_not_reversible"
    assert redemption.collect_events() == []


def test_a_rejected_attempt_cannot_be_reversed() -> None:
    redemption = rejected()
    with pytest.raises(InvalidTransition) as exc:
        redemption.reverse("returned", "support", at())
    assert exc.value.code == "redemption_not_reversible"
    assert "rejected" in exc.value.detail


@pytest.mark.parametrize("reason", ["", "  ", "r" * 501])
def test_reversal_needs_a_reason(reason: str) -> None:
    redemption = recorded()
    redemption.collect_events()
    with pytest.raises(InvalidInput) as exc:
        redemption.reverse(reason, "support", at())
    assert exc.value.code == "reason_required"
    assert redemption.status == RedemptionStatus.REDEEMED
    assert redemption.collect_events() == []


def test_replaying_a_redemptions_events_rebuilds_its_state() -> None:
    redemption = recorded()
    redemption.reverse("returned", "support", at(days=1))
    events = redemption.collect_events()
    assert names(events) == ["Redemption.Recorded", "Redemption.Reversed"]
    assert_replays_to(redemption, events)
    rejection = rejected()
    assert_replays_to(rejection, rejection.collect_events())


# -- customer usage -----------------------------------------------------------------------


def test_per_customer_limit_counts_uses_and_refuses_past_it() -> None:
    usage = CustomerUsage.start(MERCHANT, CAMPAIGN_ID, "cust-1", at())
    assert usage.id == CustomerUsage.id_for(MERCHANT, CAMPAIGN_ID, "cust-1")
    first, second = rid(), rid()
    usage.use(first, 2, at(minutes=1))
    usage.use(second, 2, at(minutes=2))
    assert (usage.customer_id, usage.count, usage.redemptions) == ("cust-1", 2, [first, second])
    events = usage.collect_events()

    with pytest.raises(InvalidTransition) as exc:
        usage.use(rid(), 2, at(minutes=3))
    assert exc.value.code == "customer_limit_reached"
    assert usage.collect_events() == []
    assert names(events) == ["CustomerUsage.Started", "CustomerUsage.Used", "CustomerUsage.Used"]
    assert [e.redemption_id for e in events[1:]] == [first, second]


def test_a_lowered_limit_applies_to_the_next_use() -> None:
    usage = CustomerUsage.start(MERCHANT, CAMPAIGN_ID, "cust-1", at())
    usage.use(rid(), 5, at())
    usage.use(rid(), 5, at())
    with pytest.raises(InvalidTransition):
        usage.use(rid(), 2, at())


def test_release_gives_a_use_back() -> None:
    usage = CustomerUsage.start(MERCHANT, CAMPAIGN_ID, "cust-1", at())
    redemption = rid()
    usage.use(redemption, 1, at())
    usage.release(redemption, at(days=1))
    assert usage.count == 0
    usage.use(rid(), 1, at(days=2))
    events = usage.collect_events()
    assert names(events)[2] == "CustomerUsage.Released"
    assert events[2].redemption_id == redemption
    assert_replays_to(usage, events)


def test_releasing_an_unknown_redemption_does_nothing() -> None:
    usage = CustomerUsage.start(MERCHANT, CAMPAIGN_ID, "cust-1", at())
    usage.use(rid(), 1, at())
    usage.collect_events()
    usage.release(rid(), at())
    assert (usage.count, usage.collect_events()) == (1, [])


def test_usage_ids_differ_per_customer_campaign_and_merchant() -> None:
    ids = {
        CustomerUsage.id_for(MERCHANT, CAMPAIGN_ID, "cust-1"),
        CustomerUsage.id_for(MERCHANT, CAMPAIGN_ID, "cust-2"),
        CustomerUsage.id_for(MERCHANT, uuid.uuid4(), "cust-1"),
        CustomerUsage.id_for("globex", CAMPAIGN_ID, "cust-1"),
    }
    assert len(ids) == 4


# -- idempotency --------------------------------------------------------------------------


def test_request_hash_ignores_key_order() -> None:
    assert request_hash("redeem", {"a": 1, "b": {"x": 1, "y": 2}}) == request_hash(
        "redeem", {"b": {"y": 2, "x": 1}, "a": 1})


def test_request_hash_is_a_sha256_of_the_canonical_request() -> None:
    expected = hashlib.sha256(b'["redeem",{"a":1}]').hexdigest()
    assert request_hash("redeem", {"a": 1}) == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("redeem", {"code": "A"}), ("validate", {"code": "A"})),
        (("redeem", {"code": "A"}), ("redeem", {"code": "B"})),
        (("redeem", {"amount": 1}), ("redeem", {"amount": "1"})),
        (("redeem", [1, 2]), ("redeem", [2, 1])),
    ],
)
def test_request_hash_tells_different_requests_apart(one: tuple[str, Any], other: tuple[str, Any]) -> None:
    assert request_hash(*one) != request_hash(*other)


def test_request_hash_accepts_uuids_and_datetimes() -> None:
    payload = {"id": uuid.UUID(int=1), "at": at()}
    assert request_hash("op", payload) == request_hash("op", {"id": str(uuid.UUID(int=1)), "at": str(at())})


@pytest.mark.parametrize("key", ["k", "k" * 255, "order-42 retry#1", "clé-é"])
def test_idempotency_key_of_1_to_255_printable_characters_is_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "k" * 256, "a\nb", "tab\t", "nul\x00"])
def test_idempotency_key_refuses_empty_long_and_control_characters(key: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_key(key)
    assert exc.value.code == "invalid_idempotency_key"


def test_idempotency_record_keeps_the_first_answer() -> None:
    record = IdempotencyRecord.record(MERCHANT, "key-1", "redeem", "h" * 64, 201, {"id": "r-1"}, at())
    assert record.id == IdempotencyRecord.id_for(MERCHANT, "key-1")
    assert record.id != IdempotencyRecord.id_for("globex", "key-1")
    assert (record.request_hash, record.status, record.response) == ("h" * 64, 201, {"id": "r-1"})
    [event] = record.collect_events()
    assert (event.key, event.operation) == ("key-1", "redeem")
    assert_replays_to(record, [event])


# -- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "digits"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)])
def test_known_currencies_and_their_minor_units(currency: str, digits: int) -> None:
    assert check_currency(currency) == currency
    assert MINOR_UNITS[currency] == digits


@pytest.mark.parametrize("currency", ["eur", "EU", "EURO", "XXX", "", " EUR"])
def test_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_currency(currency)
    assert exc.value.code == "unknown_currency"


@pytest.mark.parametrize("amount", [0, 1, MAX_AMOUNT])
def test_amounts_from_zero_to_the_maximum_are_accepted(amount: int) -> None:
    assert check_amount(amount, "x") == amount


@pytest.mark.parametrize("amount", [-1, MAX_AMOUNT + 1, True, False, 1.0, "1", None])
def test_amounts_that_are_not_in_range_integers_are_refused(amount: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_amount(amount, "order.amount")
    assert exc.value.code == "invalid_amount"


def test_zero_can_be_refused_and_the_error_names_the_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_amount(0, "reward.amount", allow_zero=False)
    assert exc.value.extra == {"field": "reward.amount"}
    assert "reward.amount" in exc.value.detail


# -- time ---------------------------------------------------------------------------------


def test_require_utc_refuses_naive_datetimes() -> None:
    with pytest.raises(InvalidInput) as exc:
        require_utc(datetime(2026, 3, 1), "starts_at")
    assert exc.value.code == "naive_datetime"
    assert exc.value.extra == {"field": "starts_at"}


def test_require_utc_converts_other_offsets_to_utc() -> None:
    tokyo = datetime(2026, 3, 1, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    converted = require_utc(tokyo)
    assert converted == at()
    assert converted.tzinfo is UTC
    assert converted.hour == 9


def test_iso_is_fixed_width_sortable_utc_text() -> None:
    assert iso(at()) == "2026-03-01T09:00:00.000000Z"
    assert iso(datetime(2026, 3, 1, 10, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-03-01T09:00:00.000005Z")
    assert iso(None) is None
    times = [at(days=-400), at(), at(seconds=0.5), at(days=3)]
    assert sorted(iso(t) for t in times) == [iso(t) for t in times]


# -- ids ----------------------------------------------------------------------------------


def test_derived_ids_are_deterministic_and_scoped() -> None:
    assert derive_id("acme", "voucher", "ABC") == derive_id("acme", "voucher", "ABC")
    distinct = {
        derive_id("acme", "voucher", "ABC"),
        derive_id("acme", "campaign", "ABC"),
        derive_id("globex", "voucher", "ABC"),
        derive_id("acme", "voucher", "ABD"),
        global_id("voucher", "ABC"),
    }
    assert len(distinct) == 5
    assert derive_id("acme", "voucher", "ABC").version == 5


# -- merchants ----------------------------------------------------------------------------


def test_merchant_is_registered_with_its_time_zone() -> None:
    merchant = Merchant.register("acme", "Acme Ltd", "Europe/Paris", at())
    assert merchant.id == Merchant.id_for("acme") == global_id("merchant", "acme")
    assert (merchant.merchant_id, merchant.name, merchant.timezone) == ("acme", "Acme Ltd", "Europe/Paris")
    assert_replays_to(merchant, merchant.collect_events())


def test_merchant_name_defaults_to_its_id() -> None:
    assert Merchant.register("acme", "", "UTC", at()).name == "acme"


@pytest.mark.parametrize("merchant_id", ["", "Acme", "-acme", "ac me", "a" * 65, "acme/x"])
def test_malformed_merchant_id_is_refused(merchant_id: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Merchant.register(merchant_id, "x", "UTC", at())
    assert exc.value.code == "invalid_merchant_id"


def test_merchant_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Merchant.register("acme\n", "x", "UTC", at())


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_timezone(zone)
    assert exc.value.code == "unknown_timezone"


# -- api keys -----------------------------------------------------------------------------


def test_api_key_stores_only_the_hash_of_its_secret() -> None:
    secret = "pk_live_0123456789abcdef"
    key = ApiKey.issue(MERCHANT, "checkout", secret, "till 3", at())
    assert key.id == ApiKey.id_for_hash(hash_secret(secret))
    assert (key.merchant_id, key.role, key.prefix, key.label, key.revoked) == (
        MERCHANT, "checkout", "pk_live_01", "till 3", False)
    [issued] = key.collect_events()
    assert issued.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(vars(issued))
    assert secret not in repr(vars(key))
    assert_replays_to(key, [issued])


@pytest.mark.parametrize("role", ["root", "", "Admin"])
def test_api_key_role_must_be_known(role: str) -> None:
    assert role not in ROLES
    with pytest.raises(InvalidInput) as exc:
        ApiKey.issue(MERCHANT, role, "secret", "", at())
    assert exc.value.code == "invalid_role"


def test_api_key_is_revoked_once() -> None:
    key = ApiKey.issue(MERCHANT, "admin", "secret", "", at())
    key.revoke("leaked", at(days=1))
    assert key.revoked
    events = key.collect_events()
    assert events[-1].reason == "leaked"
    with pytest.raises(InvalidTransition) as exc:
        key.revoke("again", at(days=2))
    assert exc.value.code == "invalid_transition"
    assert key.collect_events() == []
    assert_replays_to(key, events)


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kind", "code"),
    [
        (DomainError, "conflict", "domain_error"),
        (InvalidInput, "invalid", "invalid_input"),
        (NotFound, "not_found", "not_found"),
        (InvalidTransition, "conflict", "invalid_transition"),
        (AlreadyExists, "conflict", "already_exists"),
    ],
)
def test_errors_carry_a_kind_and_a_default_code(cls: type[DomainError], kind: str, code: str) -> None:
    error = cls("nope")
    assert (error.kind, error.code, error.detail, str(error), error.extra) == (kind, code, "nope", "nope", {})


def test_error_code_and_extra_can_be_given_per_instance() -> None:
    error = InvalidInput("bad", code="invalid_count", field="count")
    assert (error.code, error.extra) == ("invalid_count", {"field": "count"})
    assert InvalidInput("other").code == "invalid_input"  # the class default is untouched
