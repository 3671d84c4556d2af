"""Points fixtures: an in-process HTTP client over the parametrised store, and role keys."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from infrastructure.bootstrap import Container
from interfaces.http.app import create_app
from tests.http.helpers import KeyMaker, make_keys

with warnings.catch_warnings():  # starlette deprecates the httpx-based TestClient; it still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def keys(container: Container) -> KeyMaker:
    return make_keys(container)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """The app over `container`; entering the client starts the projection runners."""
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client
