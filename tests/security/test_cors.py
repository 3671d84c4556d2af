"""CORS is closed by default; PROMO_CORS_ORIGINS opens it to the listed origins only (issue 8).

CORS is a header matter of the HTTP layer: one SQLite file is enough here."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.exceptions import StarletteDeprecationWarning

from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.http.helpers import make_keys

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SHOP, ADMIN_UI, EVIL = "https://shop.example", "https://admin.shop.example:8443", "https://evil.example"
ACAO = "access-control-allow-origin"


@pytest.fixture
def app_with(tmp_path: Path) -> Iterator[Any]:
    containers: list[Any] = []

    def make(origins: str = "") -> tuple[TestClient, dict[str, str]]:
        container = build(Settings(database_url=f"sqlite:///{tmp_path}/cors-{len(containers)}.db",
                                   seed_demo=False, cors_origins=origins))
        containers.append(container)
        return (TestClient(create_app(container, run_projections=False), raise_server_exceptions=False),
                make_keys(container)("reporting"))

    yield make
    for container in containers:
        container.close()


def preflight(client: TestClient, origin: str, path: str = "/v1/campaigns") -> Any:
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "authorization"})


def test_cors_is_closed_by_default(app_with: Any) -> None:
    client, key = app_with()
    for origin in (EVIL, SHOP):
        assert ACAO not in preflight(client, origin).headers
        answer = client.get("/v1/campaigns", headers={**key, "Origin": origin})
        assert answer.status_code == 200 and ACAO not in answer.headers
        assert not any(h.startswith("access-control-") for h in answer.headers)


def test_listed_origins_only_are_allowed(app_with: Any) -> None:
    client, key = app_with(f" {SHOP}, {ADMIN_UI} ")
    for origin in (SHOP, ADMIN_UI):
        allowed = preflight(client, origin)
        assert allowed.status_code == 200 and allowed.headers[ACAO] == origin
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in allowed.headers
        answer = client.get("/v1/campaigns", headers={**key, "Origin": origin})
        assert answer.headers[ACAO] == origin
        assert "x-promo-position" in answer.headers["access-control-expose-headers"].lower()
    refused = preflight(client, EVIL)
    assert refused.status_code >= 400 and ACAO not in refused.headers
    answer = client.get("/v1/campaigns", headers={**key, "Origin": EVIL})
    assert ACAO not in answer.headers
    # a refusal to a listed origin still carries the header, so its script can read the problem
    unauthenticated = client.get("/v1/campaigns", headers={"Origin": SHOP})
    assert unauthenticated.status_code == 401 and unauthenticated.headers[ACAO] == SHOP


@pytest.mark.parametrize("origins", ["shop.example", "https://shop.example/path", "ftp://x.example",
                                     "https://a.example,,javascript:alert(1)"])
def test_an_origin_that_is_not_scheme_host_port_is_refused_at_start(origins: str) -> None:
    with pytest.raises(ValidationError, match="PROMO_CORS_ORIGINS"):
        Settings(cors_origins=origins)
