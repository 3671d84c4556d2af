"""/metrics: request latency by route template, redemptions and rejections, conflict retries, lag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate, event
from fastapi.testclient import TestClient

from application.commands import Actor, Outcome
from infrastructure.bootstrap import Container
from interfaces.http.app import create_app
from interfaces.http.observability import Metrics
from tests.conftest import live_campaign
from tests.http.helpers import KeyMaker, assert_problem
from tests.observability.helpers import labelled, scrape, value

ADMIN = Actor(merchant_id="acme", role="admin", ref="test:admin")
HISTOGRAM = "promo_http_request_duration_seconds"


def order(n: int) -> dict[str, Any]:
    return {"id": f"order-{n}", "amount": 5000, "currency": "EUR"}


class Tally(Aggregate):
    """A counter two writers can race on (a test-only aggregate)."""

    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


def test_metrics_count_requests_by_route_template_and_redemptions_by_outcome_and_reason(
    client: TestClient, container: Container, keys: KeyMaker
) -> None:
    # Arrange: a live campaign with single-use codes
    live_campaign(container, ADMIN)
    codes = container.vouchers.issue_codes(ADMIN, "spring", count=2).body["codes"]
    checkout = {**keys("checkout"), "Idempotency-Key": "redeem-1"}

    # Act: one redemption (and its retry), a refused second use, an unknown code, a stack
    first = {"code": codes[0], "customer_id": "c-1", "order": order(1)}
    assert client.post("/v1/redemptions", json=first, headers=checkout).status_code == 201
    assert client.post("/v1/redemptions", json=first, headers=checkout).status_code == 201  # replay
    again = client.post("/v1/redemptions", json={**first, "order": order(2)}, headers=keys("checkout"))
    unknown = client.post("/v1/redemptions", json={"code": "NO-SUCH-CODE", "order": order(3)},
                          headers=keys("checkout"))
    assert (again.status_code, unknown.status_code) == (422, 404)
    stack = client.post("/v1/stack-redemptions", headers=keys("checkout"),
                        json={"codes": [codes[1]], "customer_id": "c-2", "order": order(4)})
    assert stack.status_code == 201, stack.text
    for code in codes:
        assert client.get(f"/v1/vouchers/{code}", headers=keys("operations")).status_code == 200
    assert client.get("/no/such/path").status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405
    scrape(client)
    samples = scrape(client)

    # Assert: redemptions by outcome, rejections by their first reason; the replay counted once
    assert value(samples, "promo_redemptions_total", outcome="redeemed") == 2
    assert value(samples, "promo_redemptions_total", outcome="rejected") == 2
    assert value(samples, "promo_rejections_total", reason=again.json()["code"]) == 1
    assert value(samples, "promo_rejections_total", reason="unknown_code") == 1
    # Latency by route template, never by raw path (codes stay out of the labels)
    assert value(samples, f"{HISTOGRAM}_count", method="GET", route="/v1/vouchers/{code}", status="200") == 2
    assert value(samples, f"{HISTOGRAM}_count", method="POST", route="/v1/redemptions", status="201") == 2
    assert value(samples, f"{HISTOGRAM}_count", method="GET", route="unmatched", status="404") == 1
    assert value(samples, f"{HISTOGRAM}_count", method="GET", route="/metrics", status="200") == 1
    assert value(samples, f"{HISTOGRAM}_count", method="other", route="/healthz", status="405") == 1
    routes = {labels["route"] for labels in labelled(samples, f"{HISTOGRAM}_count")}
    assert not any(code in route for route in routes for code in codes)
    # Lag of every read model, read at scrape time
    assert value(samples, "promo_store_up") == 1
    for name in container.projections.runners:
        lag = value(samples, "promo_projection_lag_events", projection=name)
        assert lag is not None and lag >= 0
        assert value(samples, "promo_projection_lag_seconds", projection=name) is not None


def test_conflict_retries_are_counted_by_operation(container: Container) -> None:
    # Arrange: an aggregate, a rival writer that saves it while the command decides, our metrics
    metrics = Metrics()
    container.executor.on_conflict.append(metrics.conflict)
    tally = Tally()
    container.ledger.save_all(tally)
    attempts = []

    def decide(_: Any) -> Outcome:
        mine = container.ledger.load(tally.id, Tally)
        if not attempts:
            rival = container.ledger.load(tally.id, Tally)
            rival.count_one()
            container.ledger.save_all(rival)
        attempts.append(mine.version)
        mine.count_one()
        return Outcome(200, {}, (mine,))

    # Act
    container.executor.run(actor=ADMIN, operation="count", payload={}, decide=decide)

    # Assert: the first save conflicted, the second won; the retry was counted
    assert len(attempts) == 2 and container.ledger.load(tally.id, Tally).count == 2
    assert metrics.registry.get_sample_value("promo_command_conflict_retries_total",
                                             {"operation": "count"}) == 1


def test_metrics_need_the_token_when_one_is_set(make_container: Callable[..., Container]) -> None:
    container = make_container(metrics_token="scrape-me-0123456789")
    with TestClient(create_app(container, run_projections=False)) as client:
        assert_problem(client.get("/metrics"), 401, "unauthenticated")
        assert_problem(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert scraped.status_code == 200 and "promo_store_up 1.0" in scraped.text
