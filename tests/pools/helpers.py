"""Shared steps for the pool tests: a live campaign with a pool, files of codes, sales."""

from __future__ import annotations

import io
from typing import Any

from application.commands import Actor, CommandResult
from infrastructure.bootstrap import Container
from tests.conftest import live_campaign

FORMAT = {"min_length": 20, "max_length": 20}


def code(i: int, prefix: str = "P") -> str:
    """A well-formed 20-character partner code."""
    return f"{prefix}{i:019d}"


def csv_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def pool_campaign(container: Container, actor: Actor, key: str = "oishi", threshold: int = 0,
                  **fmt: Any) -> str:
    """A live campaign with an empty pool of 20-character codes."""
    live_campaign(container, actor, key)
    container.pools.create_pool(actor, key, {**FORMAT, **fmt}, threshold)
    return key


def upload(container: Container, actor: Actor, lines: list[str], key: str = "oishi",
           filename: str = "codes.csv", **options: Any) -> CommandResult:
    return container.pools.import_codes(actor, key, io.BytesIO(csv_bytes(lines)), filename, **options)


def sold_codes(result: CommandResult) -> list[str]:
    return [c["partner_code"] for c in result.body["codes"]]
