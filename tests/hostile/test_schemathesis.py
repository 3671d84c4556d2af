"""Schemathesis against our own OpenAPI document, in process, on SQLite and PostgreSQL.

Every operation gets schema-valid and schema-violating requests: Schemathesis' deterministic
coverage cases (boundaries, wrong types, missing and unexpected fields, other methods) and
random Hypothesis cases, with an admin key and with the keys of the roles the route admits
(now and then one it refuses), over a merchant whose campaign, codes, pool, points account,
hold, workflow and webhook exist, so that paths sometimes name real objects.
Checks: no 5xx; status code, content type, headers and body as documented; schema-violating
data refused; every 4xx is application/problem+json with a `code`.

The default is a quick pass (the whole of tests/hostile stays near a minute). Deeper runs:
`PROMO_HOSTILE_EXAMPLES=N` (random cases per operation and store; default 1) and
`PROMO_HOSTILE_COVERAGE=N` (valid and invalid coverage cases each per operation; default 5 on
SQLite, 2 on PostgreSQL; `all` for every one, ~8,000 per store);
`PROMO_HOSTILE_SEED=random` draws new random data instead of the fixed seed;
`PROMO_HOSTILE_ONLY=REGEX` fuzzes only the operations whose "METHOD /path" matches.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.api_key import ROLES
from infrastructure.bootstrap import Container
from interfaces.http.app import create_app
from tests.hostile.helpers import Seeded, seed
from tests.http.helpers import KeyMaker, make_keys
from tests.http.test_api import ENDPOINTS

RANDOM = {"sqlite": 1, "postgres": 1}
COVERAGE = {"sqlite": 5, "postgres": 2}
ADMITTED = {(method, path): admitted | {"admin"} for method, path, admitted, _ in ENDPOINTS}


def _setting(name: str, default: int) -> int | None:
    """An int from the environment; `all` is no limit (None)."""
    value = os.environ.get(name)
    if value == "all":
        return None
    return int(value) if value else default


@schemathesis.check
def problem_on_every_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is application/problem+json with a stable `code` and its own status."""
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"], body
        assert body.get("status") == response.status_code, body
    return None


@schemathesis.check
def invalid_data_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-violating data gets a 4xx — except a scalar query parameter sent several times,
    which is not invalid as sent: like most servers, FastAPI reads the last one."""
    if any(isinstance(value, list) for value in (case.query or {}).values()):
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, invalid_data_refused,
          problem_on_every_error]


class Fuzzer:
    """Sends an operation's cases with a key of a role it admits (or, one time in five, refuses)."""

    def __init__(self, keys: KeyMaker, seeded: Seeded) -> None:
        self.keys, self.seeded = keys, seeded
        self.sent = 0

    def roles(self, operation: Any) -> tuple[list[str], list[str]]:
        admitted = ADMITTED.get((operation.method.upper(), operation.path), {"admin"})
        return sorted(admitted), sorted(set(ROLES) - admitted)

    def send(self, case: Any, role: str) -> None:
        response = case.call(headers=self.keys(role))
        self.sent += 1
        case.validate_response(response, checks=CHECKS)

    def known_path(self, operation: Any) -> dict[str, str]:
        known = self.seeded.values_for(operation.path)
        return {p.name: known[p.name] for p in operation.path_parameters if p.name in known}

    def random_cases(self, operation: Any, examples: int, derandomize: bool) -> None:
        admitted, refused = self.roles(operation)
        roles = st.sampled_from(admitted * 4 + refused) if refused else st.sampled_from(admitted)
        options = [operation.as_strategy(GenerationMode.POSITIVE),
                   operation.as_strategy(GenerationMode.NEGATIVE)]
        if known := self.known_path(operation):
            options.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))

        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=derandomize)
        @given(case=st.one_of(*options), role=roles)
        def run(case: Any, role: str) -> None:
            self.send(case, role)

        run()

    def coverage_cases(self, operation: Any, limit: int | None) -> None:
        """The first `limit` valid and `limit` invalid coverage cases; every other valid one
        aimed at the seeded objects."""
        admitted, refused = self.roles(operation)
        known = self.known_path(operation)
        for number, case in enumerate(_coverage(operation, limit)):
            valid = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
            if valid and known and number % 2:
                case.path_parameters = {**(case.path_parameters or {}), **known}
            role = refused[number % len(refused)] if refused and number % 5 == 4 else admitted[
                number % len(admitted)]
            self.send(case, role)


def _coverage(operation: Any, limit: int | None) -> Iterator[Any]:
    schema = operation.schema
    config = schema.config.generation_for(operation=operation, phase="coverage")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        cases = schema.iter_coverage_cases(operation, generation_modes=[mode], generation_config=config)
        yield from itertools.islice(cases, limit)


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    make_container: Callable[..., Container], database_url: str
) -> None:
    store = "sqlite" if database_url.startswith("sqlite") else "postgres"
    examples = int(os.environ.get("PROMO_HOSTILE_EXAMPLES") or RANDOM[store])
    coverage = _setting("PROMO_HOSTILE_COVERAGE", COVERAGE[store])
    # A short read wait: a read that waits for a position the ledger never reaches costs 1 s, not 5.
    container = make_container(read_wait_seconds=1.0)
    keys = make_keys(container)
    with TestClient(create_app(container), raise_server_exceptions=False) as client:  # projections run
        fuzzer = Fuzzer(keys, seed(client, keys))
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container, run_projections=False))
        # Keys are ours (a role per case); bad credentials are tested route by route in tests/http.
        schema.config.generation.update(with_security_parameters=False)
        failures = fuzz_every_operation(schema, fuzzer, examples, coverage)
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)


def fuzz_every_operation(schema: Any, fuzzer: Fuzzer, examples: int, coverage: int | None) -> list[str]:
    failures: list[str] = []
    started = time.monotonic()
    only = re.compile(os.environ.get("PROMO_HOSTILE_ONLY", ""))
    for result in schema.get_all_operations():
        operation = result.ok()
        if not only.search(f"{operation.method.upper()} {operation.path}"):
            continue
        try:
            fuzzer.coverage_cases(operation, coverage)
            fuzzer.random_cases(operation, examples, os.environ.get("PROMO_HOSTILE_SEED") != "random")
        except (Exception, FailureGroup) as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {exc}")
    print(f"{fuzzer.sent} requests in {time.monotonic() - started:.1f}s")
    return failures
