"""HTTP fixtures for the pool tests (the same as tests/http's, which live in another package)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from infrastructure.bootstrap import Container
from interfaces.http.app import create_app
from tests.http.helpers import KeyMaker, make_keys

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def keys(container: Container) -> KeyMaker:
    return make_keys(container)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client
