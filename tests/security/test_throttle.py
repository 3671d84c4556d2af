"""Guessing protection (issues 7 and 8): per-key rate limits and the failed-guess lockout."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from application.commands import Actor
from domain.codes import CodeSpec
from infrastructure.bootstrap import Container
from interfaces.http import throttle as throttle_module
from interfaces.http.app import create_app
from interfaces.http.throttle import Limits, Throttle, unknown_codes
from tests.conftest import live_campaign
from tests.http.helpers import assert_problem, make_keys

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ORDER = {"id": "o-1", "amount": 3000, "currency": "EUR"}
VALID = "GOOD-1"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the mechanism, without a store ---------------------------------------------------------------


def test_a_token_bucket_admits_a_burst_then_the_rate() -> None:
    clock = FakeTime()
    bucket = Throttle(Limits(rate_per_second=2, burst=3), now=clock)
    assert [bucket.take("k") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("k") == pytest.approx(0.5)
    assert bucket.take("other") == 0  # every key has its own bucket
    clock.now += 0.5
    assert bucket.take("k") == 0
    assert bucket.take("k") > 0
    clock.now += 100  # refills up to the burst, never beyond
    assert [bucket.take("k") for _ in range(4)][-1] > 0


def test_a_zero_rate_disables_the_limit_and_a_zero_guess_limit_the_lockout() -> None:
    off = Throttle(Limits(rate_per_second=0, guess_limit=0, guess_limit_anonymous=0), now=FakeTime())
    assert all(off.take("k") == 0 for _ in range(10_000))
    off.failed(("k", "c"), 1000)
    off.failed(("k", None), 1000)
    assert off.locked(("k", "c")) == off.locked(("k", None)) == 0


def test_the_lockout_counts_failures_in_a_sliding_window() -> None:
    clock = FakeTime()
    guard = Throttle(Limits(guess_limit=3, guess_limit_anonymous=5, guess_window_seconds=60), now=clock)
    scope = ("key", "c-1")
    for _ in range(2):
        guard.failed(scope)
        clock.now += 10
    assert guard.locked(scope) == 0
    guard.failed(scope)
    assert guard.locked(scope) == pytest.approx(40)  # until the first failure is 60 s old
    assert guard.locked(("key", "c-2")) == guard.locked(("other", "c-1")) == 0
    clock.now += 40
    assert guard.locked(scope) == 0  # one failure left the window: one more guess
    guard.failed(scope)
    assert guard.locked(scope) == pytest.approx(10)
    # anonymous calls of a key share one, larger budget
    guard.failed(("key", None), 4)
    assert guard.locked(("key", None)) == 0
    guard.failed(("key", None))
    assert guard.locked(("key", None)) == pytest.approx(60)


def test_tracked_keys_and_scopes_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle_module, "MAX_TRACKED", 100)
    clock = FakeTime()
    guard = Throttle(Limits(rate_per_second=10, burst=10, guess_limit=3, guess_window_seconds=60), now=clock)
    for n in range(1000):
        guard.take(f"key-{n}")
        guard.failed(("key", f"customer-{n}"))
        clock.now += 1
    assert len(guard._buckets) <= 101 and len(guard._failures) <= 101


@pytest.mark.parametrize(("answer", "count"), [
    ({"valid": False, "code": "NOPE", "reasons": [{"code": "unknown_code", "message": "no such code"}]}, 1),
    ({"valid": True, "code": "GOOD", "reasons": []}, 0),
    ({"valid": False, "code": "GOOD", "reasons": [{"code": "campaign_ended", "message": "ended"}]}, 0),
    ({"code": "unknown_code", "status": 404, "reasons": [{"code": "unknown_code"}]}, 1),
    ({"code": "unknown_code", "status": 404, "detail": "no voucher 'X'"}, 1),
    ({"code": "unknown_code", "reasons": [{"code": "unknown_code"}],
      "items": [{"code": "A", "reasons": [{"code": "unknown_code"}]},
                {"code": "B", "reasons": [{"code": "unknown_code"}]},
                {"code": "C", "reasons": []}],
      "rejections": [{"code": "A", "reasons": [{"code": "unknown_code"}]}]}, 2),
    ({"customer_id": "unknown_code", "reasons": []}, 0),
])
def test_answers_count_one_failed_guess_per_unknown_code(answer: Any, count: int) -> None:
    assert unknown_codes(answer) == count


def test_the_stated_guess_probability_is_the_default_spec() -> None:
    spec = CodeSpec()
    assert spec.space == 32**8 == 1_099_511_627_776 and spec.entropy_bits == 40
    assert 10_000 / spec.space == pytest.approx(9.1e-9, rel=0.01)
    assert 2_880 * 10_000 / spec.space == pytest.approx(2.6e-5, rel=0.02)  # 20 per 10 min, a day


# -- over HTTP, on both stores --------------------------------------------------------------------


@contextmanager
def shop(make_container: Callable[..., Container],
         **settings: Any) -> Iterator[tuple[TestClient, Any, FakeTime]]:
    """A live campaign with code GOOD-1 (multi-use), keys, and the app's throttle on a fake clock."""
    container = make_container(**settings)
    actor = Actor(merchant_id="acme", role="admin", ref="test")
    live_campaign(container, actor, voucher_type="multi_use", redemption_limit=1000)
    container.vouchers.issue_codes(actor, "spring", codes=[VALID])
    app = create_app(container, run_projections=False)
    clock = FakeTime()
    app.state.throttle.now = clock
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, make_keys(container), clock


def validate(client: TestClient, headers: dict[str, str], code: str, customer: str | None = "c-1") -> Any:
    body: dict[str, Any] = {"code": code, "order": ORDER}
    if customer is not None:
        body["customer_id"] = customer
    return client.post("/v1/validations", headers=headers, json=body)


def test_checkout_calls_over_a_keys_rate_get_429_with_retry_after(
    make_container: Callable[..., Container]
) -> None:
    with shop(make_container, rate_limit_per_second=1, rate_limit_burst=3) as (client, keys, clock):
        checkout, other = keys("checkout"), keys("checkout", "globex")
        assert [validate(client, checkout, VALID).status_code for _ in range(3)] == [200] * 3
        refused = validate(client, checkout, VALID)
        assert_problem(refused, 429, "rate_limited")
        assert refused.headers["retry-after"] == "1"
        assert_problem(client.post("/v1/redemptions", headers=checkout,
                                   json={"code": VALID, "order": ORDER}), 429, "rate_limited")
        # another key, and routes that are not checkout traffic, are not limited
        assert validate(client, other, VALID).status_code == 200
        assert client.get("/v1/campaigns", headers=keys("operations")).status_code == 200
        # a bad key is refused by authentication, not counted against anyone
        assert_problem(validate(client, {"Authorization": "Bearer pl_nope"}, VALID), 401)
        clock.now += 1
        assert validate(client, checkout, VALID).status_code == 200
        # the 429s are documented on the routes that give them, and only there
        paths = client.get("/openapi.json").json()["paths"]
        assert "429" in paths["/v1/validations"]["post"]["responses"]
        assert "429" in paths["/v1/vouchers/{code}"]["get"]["responses"]
        assert "429" not in paths["/v1/campaigns"]["get"]["responses"]


def test_repeated_unknown_codes_lock_that_key_and_customer_out_until_the_window_passes(
    make_container: Callable[..., Container]
) -> None:
    with shop(make_container, guess_limit=3, guess_limit_anonymous=5,
              guess_window_seconds=600) as (client, keys, clock):
        checkout = keys("checkout")
        # valid codes mixed in do not reset the count
        for n in range(3):
            assert validate(client, checkout, VALID).json()["valid"] is True
            assert validate(client, checkout, f"GUESS-{n}").json()["valid"] is False
        refused = validate(client, checkout, VALID)
        assert_problem(refused, 429, "too_many_failed_guesses")
        assert 590 <= int(refused.headers["retry-after"]) <= 600
        # redeeming is refused too, before anything is recorded
        assert_problem(client.post("/v1/redemptions", headers=checkout, json={
            "code": VALID, "customer_id": "c-1", "order": ORDER}), 429, "too_many_failed_guesses")
        # another customer of the key, and the same customer through another key, go on
        assert validate(client, checkout, VALID, "c-2").json()["valid"] is True
        assert validate(client, keys("checkout", "acme-2"), "GUESS-9").status_code == 200
        # the window passes: the customer may try again
        clock.now += 601
        assert validate(client, checkout, VALID).json()["valid"] is True


def test_every_code_looking_route_counts_and_a_stack_counts_each_unknown_code(
    make_container: Callable[..., Container]
) -> None:
    with shop(make_container, guess_limit=3, guess_limit_anonymous=3) as (client, keys, _clock):
        checkout = keys("checkout")
        stack = {"codes": ["GUESS-1", "GUESS-2", VALID], "customer_id": "c-1", "order": ORDER}
        assert client.post("/v1/stack-validations", headers=checkout, json=stack).status_code == 200
        assert validate(client, checkout, "GUESS-3").status_code == 200
        assert_problem(validate(client, checkout, VALID), 429, "too_many_failed_guesses")

        # redeem: a recorded unknown-code rejection counts (404 unknown_code)
        for n in range(3):
            assert_problem(client.post("/v1/redemptions", headers=checkout, json={
                "code": f"GUESS-{n}", "customer_id": "c-2", "order": {**ORDER, "id": f"o-{n}"}}),
                404, "unknown_code")
        assert_problem(validate(client, checkout, VALID, "c-2"), 429, "too_many_failed_guesses")

        # look-ups by code: no customer, so the key's anonymous budget
        for n in range(3):
            assert_problem(client.get(f"/v1/vouchers/GUESS-{n}", headers=checkout), 404, "unknown_code")
        assert_problem(client.get(f"/v1/vouchers/{VALID}", headers=checkout), 429, "too_many_failed_guesses")
        assert_problem(validate(client, checkout, VALID, None), 429, "too_many_failed_guesses")
        assert validate(client, checkout, VALID, "c-3").json()["valid"] is True


def test_with_zero_limits_nothing_is_throttled(make_container: Callable[..., Container]) -> None:
    with shop(make_container, rate_limit_per_second=0, guess_limit=0,
              guess_limit_anonymous=0) as (client, keys, _clock):
        checkout = keys("checkout")
        assert {validate(client, checkout, f"GUESS-{n}").status_code for n in range(30)} == {200}


def test_the_default_limits_leave_a_busy_checkout_alone(make_container: Callable[..., Container]) -> None:
    with shop(make_container) as (client, keys, _clock):
        checkout = keys("checkout")
        answers = {validate(client, checkout, VALID, f"c-{n % 7}").status_code for n in range(50)}
        assert answers == {200}
        assert {validate(client, checkout, f"TYPO-{n}", "c-1").status_code for n in range(20)} == {200}
        assert_problem(validate(client, checkout, "TYPO-21", "c-1"), 429, "too_many_failed_guesses")
