"""Shared fixtures: one parametrised store (SQLite file, throwaway PostgreSQL), a manual clock."""

from __future__ import annotations

import os
import random
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from application.clock import ManualClock
from application.commands import Actor
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.http.helpers import KeyMaker, make_keys
from tests.support.pgcluster import PostgresCluster, find_pg_bin

with warnings.catch_warnings():  # starlette deprecates the httpx-based TestClient; it still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _shm() -> str | None:
    """tmpfs makes CREATE DATABASE ~10x faster; use it when there is room."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and shutil.disk_usage(shm).free > 2 * 1024**3:
        return shm
    return None


def require_postgres() -> None:
    """Skip without PostgreSQL's server binaries; in CI their absence is a failure."""
    if find_pg_bin() is None:
        reason = "PostgreSQL server binaries not found (apt-get install postgresql, or set PROMO_PG_BIN)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    require_postgres()
    cluster = PostgresCluster(base_dir=_shm())
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield pg_cluster.create_database(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Every storage test runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def make_container(database_url: str, clock: ManualClock) -> Iterator[Callable[..., Container]]:
    """Build containers on this test's store; all are closed at the end."""
    built: list[Container] = []

    def make(**overrides: Any) -> Container:
        settings = Settings(database_url=database_url, seed_demo=False,
                            **{"projection_poll_seconds": 0.01, **overrides})
        container = build(settings, clock=clock, rng=random.Random(len(built)))
        built.append(container)
        return container

    yield make
    for container in built:
        container.close()


@pytest.fixture
def container(make_container: Callable[..., Container]) -> Container:
    return make_container()


@pytest.fixture
def keys(container: Container) -> KeyMaker:
    """Headers with a key for a role (and merchant, default "acme") on the test's store."""
    return make_keys(container)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """The app over `container`; entering the client runs the lifespan (projection runners)."""
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(container: Container) -> Actor:
    return Actor(merchant_id="acme", role="admin", ref="test:admin")


def reward_amount_off(amount: int = 500, min_spend: int = 0) -> dict[str, Any]:
    return {"type": "amount_off", "amount": amount, "min_spend": min_spend}


def terms(**overrides: Any) -> dict[str, Any]:
    """Campaign terms with sensible defaults for tests."""
    base: dict[str, Any] = {"name": "Spring sale", "currency": "EUR", "reward": reward_amount_off()}
    return {**base, **overrides}


def live_campaign(container: Container, actor: Actor, key: str = "spring", **overrides: Any) -> str:
    """Create, submit, approve and activate a campaign; return its key."""
    container.campaigns.create_campaign(actor, key, terms(**overrides))
    for action in ("submit", "approve", "activate"):
        container.campaigns.change_status(actor, key, action)
    return key
