"""Shaping command results into HTTP responses; shared header and query aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query
from fastapi.responses import JSONResponse

from application.commands import CommandResult
from interfaces.http.problems import problem
from interfaces.http.schemas import Problem

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="Retries with the same key return the first answer and never apply twice.")]
MinPosition = Annotated[int | None, Query(
    ge=0, le=2**62, description="Wait until the read model includes this ledger position "
    "(read-your-writes); 503 projection_lagging if it does not within the wait.")]

# `model` puts Problem into the components (and under application/json); the $ref documents the
# media type errors are actually served as, so clients and Schemathesis validate problem bodies.
PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": PROBLEM_CONTENT}
    for status in (400, 401, 403, 404, 409, 413, 422, 503)
}


# A spreadsheet runs a cell that starts like this as a formula (CSV injection): exports prefix it with '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet will run: None is empty, text that starts like a formula gets a '."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def command_response(result: CommandResult) -> JSONResponse:
    """The command's answer with its ledger position; recorded rejections become problems."""
    headers = {"X-Promo-Position": str(result.position)}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = result.body
    if result.status >= 400:
        first = body["reasons"][0]
        stack = {k: body[k] for k in ("items", "rejections", "order_of_application") if k in body}
        return problem(result.status, first["code"], first["message"], headers,
                       redemption_id=body["id"], reasons=body["reasons"], position=result.position, **stack)
    return JSONResponse({**body, "position": result.position}, status_code=result.status,
                        headers=headers)
