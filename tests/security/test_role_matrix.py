"""Every route x every role, with another merchant's key, aimed at merchant A's objects: the
role table's allow/deny holds, and nothing of A's is ever read or changed (issue 8).

Generated from the route table (`tests/http/test_api.py::ENDPOINTS`), which
`test_the_endpoint_table_covers_every_route` there keeps equal to the app's routes: a new route
fails that test until it is in the table, and is then covered here."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from domain.api_key import ROLES
from infrastructure.bootstrap import Container
from tests.http.helpers import KeyMaker
from tests.http.test_api import ENDPOINTS, FILL
from tests.security.helpers import Victim, seed_victim

OTHER = "globex"


def originators_until(container: Container, position: int) -> set[UUID | str]:
    notifications = container.ledger.recorder.select_notifications(1, position, stop=position)
    return {n.originator_id for n in notifications}


def events_after(container: Container, position: int) -> list[Any]:
    head = container.ledger.head()
    if head <= position:
        return []
    stored = container.ledger.recorder.select_notifications(position + 1, head - position, stop=head)
    return [container.ledger.mapper.to_domain_event(n) for n in stored]


def leaked(victim: Victim, request: str, answer: str) -> set[str]:
    """The victim's markers in an answer, except those the request itself carried (echoes)."""
    return {marker for marker in victim.markers if marker in answer and marker not in request}


def assert_names_real_objects(client: TestClient, victim: Victim, admin: dict[str, str]) -> None:
    """The matrix means something only if A's path values name real objects: A finds them."""
    for template in ("/v1/campaigns/{key}", "/v1/vouchers/{code}", "/v1/redemptions/{redemption_id}",
                     "/v1/holds/{hold_id}", "/v1/partner-codes/{internal_code}", "/v1/webhooks/{key}",
                     "/v1/workflows/{key}", "/v1/audit/streams/{aggregate_id}",
                     "/v1/webhook-deliveries/{delivery_id}", "/v1/campaigns/{key}/exports/{batch}",
                     "/v1/campaigns/{key}/pool", "/v1/audit/streams/{key_id}"):
        response = client.get(template.format(**victim.path), headers=admin)
        assert response.status_code == 200, (template, response.text)


def test_another_merchants_keys_never_read_or_change_a_merchants_objects(
    client: TestClient, container: Container, keys: KeyMaker
) -> None:
    victim = seed_victim(client, container, keys)
    assert_names_real_objects(client, victim, keys("admin", victim.merchant))
    fill = {**FILL, **victim.path}
    before = container.ledger.head()
    victims_streams = originators_until(container, before)

    intruders = {role: keys(role, OTHER) for role in ROLES}
    wrong: list[tuple[str, str, str, int, Any]] = []
    for method, template, admitted, body in ENDPOINTS:
        path = template.format(**fill)
        request = path + json.dumps(body)
        for role in ROLES:
            response = client.request(method, path, json=body, headers=intruders[role])
            answer = response.text
            if role not in {*admitted, "admin"}:
                if response.status_code != 403:
                    wrong.append((method, path, role, response.status_code, "expected 403"))
            elif response.status_code in (401, 403) or response.status_code >= 500:
                wrong.append((method, path, role, response.status_code, answer[:300]))
            if found := leaked(victim, request, answer):
                wrong.append((method, path, role, response.status_code, f"leaked {sorted(found)}"))
    assert not wrong, "\n".join(map(str, wrong))

    # nothing the intruders did touched a stream of A's, or wrote an event in A's name
    touched = [(type(e).__qualname__, e.originator_id) for e in events_after(container, before)
               if e.originator_id in victims_streams
               or getattr(e, "merchant_id", OTHER) == victim.merchant]
    assert not touched, touched
