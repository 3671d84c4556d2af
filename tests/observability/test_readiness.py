"""/readyz: ready when the store answers and read models keep up; 503 with the failed check, fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from application.clock import ManualClock
from application.commands import Actor
from infrastructure.bootstrap import Container
from infrastructure.store import is_postgres
from interfaces.http.app import create_app
from tests.conftest import live_campaign
from tests.http.helpers import assert_problem
from tests.observability.helpers import scrape, value
from tests.support.pgcluster import free_port

ADMIN = Actor(merchant_id="acme", role="admin", ref="test:admin")


def test_readyz_is_ready_until_a_read_model_lags_in_seconds_or_in_events(
    make_container: Callable[..., Container], clock: ManualClock
) -> None:
    # Arrange: a store with events no projection has applied (no runner in this process)
    container = make_container(ready_max_lag_events=10, ready_max_lag_seconds=60)
    with TestClient(create_app(container, run_projections=False)) as client:
        response = client.get("/readyz")  # no key: public, like /healthz
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ready", "projections": [
            {"projection": name, "lag_events": 0, "lag_seconds": 0}
            for name in container.projections.runners]}

        container.access.create_key("acme", "admin")
        behind = container.ledger.head()
        assert 0 < behind <= 10
        assert client.get("/readyz").status_code == 200  # behind, but within both bounds

        # Within the event bound, but the oldest unapplied event is older than 60 s
        clock.advance(timedelta(seconds=61))
        body = assert_problem(client.get("/readyz"), 503, "projections_lagging")
        assert body["check"] == "projections"
        assert {p["projection"] for p in body["lagging"]} == set(container.projections.runners)
        assert all(p["lag_events"] == behind and p["lag_seconds"] >= 61 for p in body["lagging"])

        # Fresh events only, but more of them than the bound
        container.projections.catch_up()
        assert client.get("/readyz").status_code == 200
        live_campaign(container, ADMIN)
        container.vouchers.issue_codes(ADMIN, "spring", count=11)
        body = assert_problem(client.get("/readyz"), 503, "projections_lagging")
        assert all(p["lag_events"] > 10 and p["lag_seconds"] == 0 for p in body["lagging"])

        # Caught up: ready again
        container.projections.catch_up()
        assert client.get("/readyz").status_code == 200


def test_readyz_and_metrics_answer_fast_when_the_database_is_away(
    container: Container, tmp_path: Path
) -> None:
    # The container's own store is fine; the checks are pointed at a database that is not there:
    # PostgreSQL on a closed port, or a SQLite file in a directory that does not exist.
    url = container.settings.database_url
    away = (f"postgresql://promo@127.0.0.1:{free_port()}/nowhere" if is_postgres(url)
            else f"sqlite:///{tmp_path}/missing/ledger.db")
    container.settings = container.settings.model_copy(update={"database_url": away})
    with TestClient(create_app(container, run_projections=False)) as client:
        client.get("/healthz")  # FastAPI sets its routes up on the first request: not what is timed
        started = time.monotonic()
        body = assert_problem(client.get("/readyz"), 503, "store_unavailable")
        assert body["check"] == "store"
        samples = scrape(client)
        assert time.monotonic() - started < 2.0
    assert value(samples, "promo_store_up") == 0
    assert not [name for name, _ in samples if name.startswith("promo_projection_lag")]
    assert not (tmp_path / "missing").exists()  # the check never creates a database
