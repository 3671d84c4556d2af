"""Hostile and broken input, case by case, through the real app on SQLite and PostgreSQL.

Oversized bodies and uploads, files in other encodings, formula cells in exports, confusable and
SQL-like codes, amounts and currencies and timestamps out of range, deep JSON, text no store can
hold, bodies that are not UTF-8 or not JSON. Each is a 4xx problem with a `code` (or a correct
answer), never a 500, and nothing refused reaches the ledger or stalls a read model.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.http.responses import FORMULA_STARTS
from tests.hostile.helpers import go_live, ok
from tests.http.helpers import KeyMaker, assert_problem, make_keys
from tests.http.test_api import api_routes

ORDER = {"id": "o-1", "amount": 3000, "currency": "EUR"}
FORMULAS = ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)"]
JSON = {"Content-Type": "application/json"}


def problem(response: Any, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """A 4xx problem (of `status`, with `code` when given)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    return assert_problem(response, status or response.status_code, code)


def read_models_healthy(client: TestClient, headers: dict[str, str], container: Container) -> None:
    """Every projection reaches the ledger's head without an error (a poisoned event stalls it)."""
    head = container.ledger.head()
    ok(client.get("/v1/campaigns", headers=headers, params={"min_position": head}))
    errors = {p["name"]: p["error"] for p in ok(client.get("/v1/audit/projections", headers=headers))
              if p["error"]}
    assert not errors, errors


@pytest.fixture
def admin(client: TestClient, keys: KeyMaker) -> dict[str, str]:
    """An admin key of merchant acme, which has a live campaign `spring` with codes SPRING-1..3."""
    headers = keys("admin")
    go_live(client, headers, "spring")
    ok(client.post("/v1/campaigns/spring/codes", headers=headers,
                   json={"codes": ["SPRING-1", "SPRING-2", "SPRING-3"]}), 201)
    return headers


def partner_pool(client: TestClient, headers: dict[str, str], key: str = "oishi", **fmt: Any) -> str:
    go_live(client, headers, key)
    ok(client.post(f"/v1/campaigns/{key}/pool", headers=headers,
                   json={"format": {"min_length": 2, "max_length": 20, **fmt}}), 201)
    return f"/v1/campaigns/{key}/pool"


def upload(client: TestClient, headers: dict[str, str], path: str, data: bytes | Iterator[bytes],
           name: str = "codes.csv", **form: str) -> Any:
    return client.post(path, headers=headers, data=form, files={"file": (name, data, "text/csv")})


def rows(response: Any) -> list[list[str]]:
    assert response.status_code in (200, 201), response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


# -- sizes ------------------------------------------------------------------------------------


@pytest.fixture
def small(make_container: Callable[..., Container]) -> Iterator[tuple[TestClient, KeyMaker]]:
    container = make_container(max_body_bytes=2048, max_upload_bytes=8192)
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client, make_keys(container)


def test_bodies_and_uploads_over_their_documented_limits_are_413(
    small: tuple[TestClient, KeyMaker]
) -> None:
    client, keys = small
    admin = keys("admin")
    pool = partner_pool(client, admin)
    codes = b"\n".join(b"P%019d" % i for i in range(300))  # 6.3 KB: over the body limit
    assert 2048 < len(codes) < 8192

    # an upload route takes PROMO_MAX_UPLOAD_BYTES, every other route PROMO_MAX_BODY_BYTES
    imported = ok(upload(client, admin, f"{pool}/imports", codes), 201)
    assert imported["accepted"] == 300
    problem(client.post("/v1/validations", headers=admin,
                        json={"code": "X" * 6000, "order": ORDER}), 413, "payload_too_large")
    report = b"code\n" + b"\n".join(b"R%019d" % i for i in range(400))
    problem(upload(client, admin, f"{pool}/redemptions/file", report), 413, "payload_too_large")
    problem(upload(client, admin, f"{pool}/imports", codes * 2), 413, "payload_too_large")

    # streamed without a Content-Length, or understated, the limit holds all the same
    def chunks(body: bytes) -> Iterator[bytes]:
        yield from (body[i:i + 1000] for i in range(0, len(body), 1000))

    multipart = {**admin, "Content-Type": "multipart/form-data; boundary=x"}
    problem(client.post(f"{pool}/imports", headers=multipart, content=chunks(codes * 2)), 413,
            "payload_too_large")
    problem(client.post("/v1/validations", headers={**admin, **JSON}, content=chunks(b" " * 5000)),
            413, "payload_too_large")
    problem(client.post(f"{pool}/imports", headers={**multipart, "Content-Length": "100"},
                        content=codes * 2), 413, "payload_too_large")
    stock = ok(client.get(pool, headers=admin, params={"min_position": imported["position"]}))
    assert stock["uploaded"] == 300


def test_the_limits_are_documented() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for setting in ("PROMO_MAX_BODY_BYTES", "PROMO_MAX_UPLOAD_BYTES", "413 payload_too_large"):
        assert setting in readme


# -- files --------------------------------------------------------------------------------------


def test_partner_code_files_with_bom_crlf_or_another_encoding_are_read_or_refused_by_line(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    pool = partner_pool(client, admin)
    # a spreadsheet's export: BOM, header, CRLF, quotes — the codes come through clean
    excel = b'\xef\xbb\xbfcode\r\n"AB12"\r\nCD34\r\n'
    assert ok(upload(client, admin, f"{pool}/imports", excel), 201)["accepted"] == 2
    # Latin-1, UTF-16, NUL bytes, a binary blob: every line refused with its reason, nothing stored
    for data, reason in [("AB56\nDÉ78\n".encode("latin-1"), "not_utf8"),
                         ("EF90\nGH12\n".encode("utf-16"), None),
                         (b"IJ34\nKL\x0056\n", "invalid_characters"),
                         (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None)]:
        body = problem(upload(client, admin, f"{pool}/imports", data), 422, "file_rejected")
        assert body["errors"] and (reason is None or reason in {e["reason"] for e in body["errors"]})
    problem(upload(client, admin, f"{pool}/imports", b"\xef\xbb\xbf"), 422)
    problem(upload(client, admin, f"{pool}/imports", b""), 422, "empty_file")

    # sold codes, then the partner's redemption report in the same spreadsheet dialect
    sold = ok(client.post(f"{pool}/sales", headers=admin, json={"order_id": "o-1", "quantity": 2}), 201)
    assert sorted(c["partner_code"] for c in sold["codes"]) == ["AB12", "CD34"]
    report = ok(upload(client, admin, f"{pool}/redemptions/file",
                       b'\xef\xbb\xbfcode\r\n"AB12"\r\nZZ\xff\x0099\r\n'))
    assert (report["redeemed"], len(report["unknown"])) == (["AB12"], 1), report
    stock = ok(client.get(pool, headers=admin, params={"min_position": report["position"]}))
    assert (stock["uploaded"], stock["sold"], stock["redeemed"]) == (2, 2, 1), stock
    read_models_healthy(client, admin, container)


def test_customer_files_with_bom_crlf_or_another_encoding_are_read_or_refused_by_line(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    ok(client.post("/v1/campaigns/spring/codes", headers=admin, json={"count": 10}), 201)
    data = b"\xef\xbb\xbfcustomer_id\r\nc-1\r\n\"c-2\"\r\nc\xe9-3\r\nc\x00-4\r\n=cmd|' /C calc'!A0\r\n"
    answer = ok(upload(client, admin, "/v1/campaigns/spring/distributions/file", data,
                       batch="b-1"))
    outcome = {line["customer_id"]: line["status"] for line in answer["lines"]}
    assert outcome["c-1"] == outcome["c-2"] == "assigned", answer
    assert sum(status == "assigned" for status in outcome.values()) == 2, answer
    assert not any(customer.startswith("\ufeff") or customer.endswith("\r") for customer in outcome)
    read_models_healthy(client, admin, container)


# -- formula injection --------------------------------------------------------------------------


CSV_EXPORTS = {("GET", "/v1/campaigns/{key}/pool/codes.csv"), ("POST", "/v1/campaigns/{key}/exports"),
               ("GET", "/v1/campaigns/{key}/exports/{batch}"), ("GET", "/v1/reports/redemptions.csv")}


def test_every_csv_export_is_covered_here(tmp_path: Any) -> None:
    container = build(Settings(database_url=f"sqlite:///{tmp_path}/routes.db", seed_demo=False))
    try:
        routes = api_routes(create_app(container, run_projections=False).routes)
        exports = {(method, route.path) for route in routes for method in route.methods
                   if "text/csv" in json.dumps(route.responses, default=str)}
    finally:
        container.close()
    assert exports == CSV_EXPORTS


def test_exports_never_echo_a_formula_cell_unescaped(
    client: TestClient, admin: dict[str, str]
) -> None:
    # partner codes may start with + - = when the pool's charset allows them; order ids anything
    pool = partner_pool(client, admin, charset="0123456789+-=")
    ok(upload(client, admin, f"{pool}/imports", b"=1+1\n+41\n-41\n1234\n"), 201)
    for number, formula in enumerate(FORMULAS):
        sale = ok(client.post(f"{pool}/sales", headers=admin,
                              json={"order_id": formula, "line_id": f"l{number}", "quantity": 1}), 201)
    exported = rows(client.get(f"{pool}/codes.csv", headers=admin,
                               params={"status": "all", "min_position": sale["position"]}))
    _assert_escaped(exported, expected={"'=1+1", "'+41", "'-41", *("'" + f for f in FORMULAS)})

    # voucher codes cannot start like a formula, so the code exports cannot carry one
    for formula in FORMULAS:
        problem(client.post("/v1/campaigns/spring/codes", headers=admin, json={"codes": [formula]}), 422,
                "invalid_code_format")
    _assert_escaped(rows(client.post("/v1/campaigns/spring/exports", headers=admin,
                                     json={"batch": "b-1", "count": 3})), expected=set())
    _assert_escaped(rows(client.get("/v1/campaigns/spring/exports/b-1", headers=admin)), expected=set())

    # the redemption report: order ids, stores and reasons are free text
    for number, formula in enumerate(FORMULAS[:3]):
        redeemed = ok(client.post("/v1/redemptions", headers=admin, json={
            "code": f"SPRING-{number + 1}", "store_id": FORMULAS[3],
            "order": {**ORDER, "id": formula}}), 201)
    report = rows(client.get("/v1/reports/redemptions.csv", headers=admin,
                             params={"min_position": redeemed["position"]}))
    _assert_escaped(report, expected={"'" + f for f in FORMULAS})


def _assert_escaped(table: list[list[str]], expected: set[str]) -> None:
    cells = [cell for row in table[1:] for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)], table
    assert expected <= set(cells), (expected - set(cells), table)


# -- codes --------------------------------------------------------------------------------------


CONFUSABLES = {"cyrillic A": "SPRING-\u0410", "cyrillic I": "SPR\u0406NG-3",
               "zero-width space": "SPRING\u200b-3", "full-width digit": "SPRING-\uff13",
               "full-width letters": "\uff33\uff30\uff32ING-3", "soft hyphen": "SPRING\u00ad-3",
               "combining accent": "SPRI\u0301NG-3"}


def test_confusable_codes_are_refused_at_creation_and_never_match_the_ascii_code(
    client: TestClient, admin: dict[str, str]
) -> None:
    for label, code in CONFUSABLES.items():
        created = client.post("/v1/campaigns/spring/codes", headers=admin, json={"codes": [code]})
        problem(created, 422, "invalid_code_format")
        _never_matches(client, admin, code, label)


# domain.codes.canonical_code upper-cases with `str.upper()`, which maps these onto ASCII letters
# (long s to S, dotless i to I, the fi ligature to FI): they match SPRING-3 and FI-3. Drop the
# marker when it upper-cases ASCII letters only.
LETTERS_THAT_UPPER_CASE_TO_ASCII = {"long s": "\u017fpring-3", "dotless i": "spr\u0131ng-3",
                                    "fi ligature": "\ufb01-3"}


def test_letters_that_upper_case_to_ascii_never_match_the_ascii_code(
    client: TestClient, admin: dict[str, str]
) -> None:
    ok(client.post("/v1/campaigns/spring/codes", headers=admin, json={"codes": ["FI-3"]}), 201)
    for label, code in LETTERS_THAT_UPPER_CASE_TO_ASCII.items():
        _never_matches(client, admin, code, label)


def _never_matches(client: TestClient, admin: dict[str, str], code: str, label: str) -> None:
    validated = client.post("/v1/validations", headers=admin,
                            json={"code": code, "customer_id": "c-1", "order": ORDER})
    if validated.status_code == 200:
        assert validated.json()["valid"] is False, (label, validated.text)
    else:
        problem(validated)
    looked_up = client.get(f"/v1/vouchers/{code}", headers=admin)
    assert looked_up.status_code in (404, 422), (label, looked_up.text)
    redeemed = client.post("/v1/redemptions", headers=admin,
                           json={"code": code, "customer_id": "c-1", "order": ORDER})
    problem(redeemed)
    assert ok(client.get("/v1/vouchers/SPRING-3", headers=admin))["redemption_count"] == 0, label


SQLISH = ["' OR 1=1 --", "SPRING-1'; DROP TABLE events; --", '" OR ""="', "1; SELECT pg_sleep(5)",
          "%' OR '%'='", "\\'; --"]


def test_sql_like_input_is_refused_or_plain_text(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    for text in SQLISH:
        problem(client.post("/v1/campaigns/spring/codes", headers=admin, json={"codes": [text]}), 422,
                "invalid_code_format")
        assert ok(client.post("/v1/validations", headers=admin,
                              json={"code": text, "order": ORDER}))["valid"] is False
        problem(client.get("/v1/campaigns/" + text.replace("%", "%25"), headers=admin), 404)
        for name in ("code", "customer_id", "campaign"):
            assert ok(client.get("/v1/redemptions", headers=admin, params={name: text}))["items"] == []
        wallet = client.get(f"/v1/customers/{text.replace('%', '%25')}/wallet", headers=admin)
        if wallet.status_code != 200:  # an empty wallet, or a customer id refused as malformed
            problem(wallet)
    # everything is still there
    assert ok(client.get("/v1/vouchers/SPRING-1", headers=admin))["code"] == "SPRING-1"
    listed = ok(client.get("/v1/campaigns", headers=admin, params={"min_position": container.ledger.head()}))
    assert [c["key"] for c in listed["items"]] == ["spring"]
    read_models_healthy(client, admin, container)


# -- numbers, currencies, times ------------------------------------------------------------------


BAD_AMOUNTS = [2**63, 10**30, -1, 10.5, 10.0, "100", True, [100], {"minor": 100}]


def test_amounts_are_integer_minor_units_within_range(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    ok(client.put("/v1/points/programs/main", headers=admin, json={"name": "Main"}))
    ok(client.post("/v1/customers/c-1/points/accounts", headers=admin, json={"program": "main"}), 201)
    before = container.ledger.head()
    reward = {"type": "amount_off", "amount": 500}
    sends: list[tuple[str, str, Callable[[Any], Any]]] = [
        ("POST", "/v1/validations", lambda a: {"code": "SPRING-1", "order": {**ORDER, "amount": a}}),
        ("POST", "/v1/redemptions", lambda a: {"code": "SPRING-1", "order": {**ORDER, "amount": a}}),
        ("POST", "/v1/redemptions", lambda a: {"code": "SPRING-1", "order": {
            "currency": "EUR", "lines": [{"sku": "s", "quantity": 1, "unit_price": a}]}}),
        ("POST", "/v1/orders", lambda a: {**ORDER, "id": "o-9", "amount": a}),
        ("POST", "/v1/campaigns", lambda a: {"key": "c", "name": "c", "currency": "EUR",
                                             "reward": {**reward, "amount": a}}),
        ("POST", "/v1/campaigns", lambda a: {"key": "c", "name": "c", "currency": "EUR", "reward": reward,
                                             "budget": a}),
        ("POST", "/v1/customers/c-1/points/credits",
         lambda a: {"program": "main", "kind": "allocation", "points": a}),
        ("POST", "/v1/customers/c-1/points/debits",
         lambda a: {"program": "main", "kind": "redemption", "points": a}),
    ]
    for method, path, body in sends:
        for amount in BAD_AMOUNTS:
            response = client.request(method, path, headers=admin, json=body(amount))
            problem(response, 422)
    # a literal too long for any integer type is refused the same way
    problem(client.post("/v1/validations", headers={**admin, **JSON},
                        content=b'{"code": "SPRING-1", "order": {"currency": "EUR", "amount": '
                        + b"9" * 5000 + b"}}"))
    assert container.ledger.head() == before


def test_unknown_currencies_are_refused(client: TestClient, container: Container,
                                        admin: dict[str, str]) -> None:
    before = container.ledger.head()
    for currency in ("XXX", "ABC", "XTS", "eur", "EURO", "", "€"):
        expected = "unknown_currency" if currency.isupper() and len(currency) == 3 else None
        for path, body in [("/v1/campaigns", {"key": "c", "name": "c", "currency": currency,
                                              "reward": {"type": "amount_off", "amount": 5}}),
                           ("/v1/orders", {**ORDER, "currency": currency}),
                           ("/v1/redemptions", {"code": "SPRING-1",
                                                "order": {**ORDER, "currency": currency}})]:
            problem(client.post(path, headers=admin, json=body), 422, expected)
    assert container.ledger.head() == before


TIMES = {"naive": "2026-03-01T09:00:00", "year 9999": "9999-12-31T23:59:59Z",
         "year 9999 west of UTC": "9999-12-31T23:00:00-05:00", "year 1": "0001-01-01T00:00:00Z",
         "year 1 east of UTC": "0001-01-01T00:00:00+05:00", "30 February": "2026-02-30T00:00:00Z",
         "not a time": "soon", "date only": "2026-03-01", "empty": "", "Unix time": "1767225600",
         "zero": "0"}


def test_timestamps_need_a_zone_and_a_sane_year(client: TestClient, container: Container,
                                                admin: dict[str, str]) -> None:
    ok(client.put("/v1/points/programs/main", headers=admin, json={"name": "Main"}))
    ok(client.post("/v1/customers/c-1/points/accounts", headers=admin, json={"program": "main"}), 201)
    before = container.ledger.head()
    campaign = {"key": "t", "name": "t", "currency": "EUR", "reward": {"type": "amount_off", "amount": 5}}
    for at in TIMES.values():
        for response in [
            client.post("/v1/campaigns", headers=admin, json={**campaign, "starts_at": at}),
            client.post("/v1/campaigns", headers=admin, json={**campaign, "ends_at": at}),
            client.post("/v1/customers/c-1/points/credits", headers=admin, json={
                "program": "main", "kind": "allocation", "points": 5, "expires_at": at}),
            client.get("/v1/redemptions", headers=admin, params={"since": at}),
            client.get("/v1/redemptions", headers=admin, params={"until": at}),
            client.get("/v1/customers/c-1/points/ledger", headers=admin, params={"since": at}),
            client.get("/v1/customers/c-1/points/ledger", headers=admin, params={"until": at}),
            client.get("/v1/customers/c-1/points/balance", headers=admin, params={"until": at}),
            client.get("/v1/audit/customers/c-1/points/balance", headers=admin,
                       params={"program": "main", "at": at}),
        ]:
            problem(response, 422)
    assert container.ledger.head() == before
    # the edges of the range are fine
    ok(client.post("/v1/campaigns", headers=admin, json={
        **campaign, "starts_at": "1900-01-01T00:00:00Z", "ends_at": "2999-12-31T23:59:59.999999Z"}), 201)
    ok(client.get("/v1/customers/c-1/points/ledger", headers=admin,
                  params={"since": "1900-01-01T00:00:00+00:00", "until": "2999-12-31T23:59:59Z"}))


# -- JSON and text --------------------------------------------------------------------------------


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


def attributes(value: str) -> str:
    return '{"attributes": ' + value + "}"


def test_deeply_nested_json_is_a_4xx(client: TestClient, container: Container,
                                     admin: dict[str, str]) -> None:
    before = container.ledger.head()
    headers = {**admin, **JSON}
    for body in ("[" * 10_000 + "]" * 10_000, nested(10_000), nested(900)):
        problem(client.post("/v1/validations", headers=headers, content=body))
    workflow = '{"name": "w", "trigger": %s, "effects": [{"type": "assign_voucher", "campaign": "spring"}]}'
    for depth in (10_000, 33):
        problem(client.post("/v1/customers/c-1/registration", headers=headers,
                            content=attributes(nested(depth))))
        problem(client.put("/v1/workflows/w", headers=headers, content=workflow.replace("%s", nested(depth))))
    assert container.ledger.head() == before
    ok(client.post("/v1/customers/c-1/registration", headers=headers,
                   content=attributes(nested(20))), 201)


UNSTORABLE = {"NUL": '"a\\u0000b"', "lone surrogate": '"\\ud800"', "NaN": "NaN", "Infinity": "Infinity"}


def test_text_no_store_can_hold_is_refused_before_the_ledger(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    headers = {**admin, **JSON}
    before = container.ledger.head()
    for label, value in UNSTORABLE.items():
        for path, body in [
            ("/v1/campaigns", '{"key": "n", "name": %s, "currency": "EUR", '
                              '"reward": {"type": "amount_off", "amount": 5}}'),
            ("/v1/campaigns/spring/disable", '{"reason": %s}'),
            ("/v1/customers/c-1/registration", '{"attributes": {"x": %s}}'),
            ("/v1/customers/c-1/registration", '{"attributes": {"x": [1, {"y": %s}]}}'),
            ("/v1/orders", '{"id": "o-1", "amount": 5, "currency": "EUR", "store_id": %s}'),
            ("/v1/campaigns/spring/pool/redemptions", '{"codes": [%s]}'),
        ]:
            response = client.post(path, headers=headers, content=body % value)
            assert response.status_code in (400, 404, 422), (label, path, response.text)
            problem(response)
    problem(client.post("/v1/customers/c-1/registration", headers=headers,
                        content='{"attributes": {"a\\u0000": 1}}'), 422)
    # in a URL, NUL is refused before any route reads it
    for path in ("/v1/customers/a%00b/wallet", "/v1/redemptions?customer_id=a%00b",
                 "/v1/campaigns?status=%00", "/v1/customers/c-1/points/ledger?source=%00",
                 "/v1/campaigns/spring%00/stats"):
        problem(client.get(path, headers=admin), 400, "invalid_character")
    assert container.ledger.head() == before
    read_models_healthy(client, admin, container)


def test_bodies_that_are_not_utf8_or_not_json_are_a_4xx(client: TestClient, container: Container,
                                                       admin: dict[str, str]) -> None:
    before = container.ledger.head()
    body = json.dumps({"code": "SPRING-1", "customer_id": "c-1", "order": ORDER})
    for content_type, content in [  # (no Content-Type: None)
        ("application/json", b'{"code": "\xff\xfe", "order": {"amount": 1, "currency": "EUR"}}'),
        ("application/json", body.encode()[:-3]),
        ("application/json", b""),
        ("application/json", b"null"),
        ("text/plain", body.encode()),
        ("application/xml", b"<redemption/>"),
        ("application/x-www-form-urlencoded", b"code=SPRING-1"),
        ("multipart/form-data", b"--x--"),
        ("multipart/form-data; boundary=x",
         b"--x\r\nContent-Disposition: form-data; name=code\r\n\r\nA\r\n--x--"),
        (None, body.encode()),
    ]:
        headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
        problem(client.post("/v1/redemptions", headers=headers, content=content))
    # a file route given JSON, or a file under another field name
    pool = partner_pool(client, admin)
    before = container.ledger.head()
    problem(client.post(f"{pool}/imports", headers=admin, json={"file": "AB12"}), 422)
    problem(client.post(f"{pool}/imports", headers=admin, files={"upload": ("c.csv", b"AB12\n")}), 422)
    assert container.ledger.head() == before


def test_upload_file_names_are_never_a_500_and_never_stall_a_read_model(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    pool = partner_pool(client, admin)
    for number, name in enumerate(["a\x00b.csv", "x" * 5000 + ".csv", "../../etc/passwd", "\u202ecsv.exe",
                                   "=cmd|' /C calc'!A0.csv", ""]):
        response = upload(client, admin, f"{pool}/imports", b"AB%02d\n" % number, name=name)
        assert response.status_code in (201, 400, 422), (name[:20], response.text)
        if response.status_code != 201:
            problem(response)
        report = upload(client, admin, f"{pool}/redemptions/file", b"AB00\n", name=name)
        assert report.status_code in (200, 400, 422), (name[:20], report.text)
    read_models_healthy(client, admin, container)
