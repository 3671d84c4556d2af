"""ProgramCatalog aggregate: a merchant's loyalty programs and their default points expiry."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, NotFound
from domain.ids import derive_id

PROGRAM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class ProgramCatalog(Aggregate):
    """One per merchant: programs change rarely, and auditors enumerate accounts from it."""

    class Started(Aggregate.Created):
        merchant_id: str

        def apply(self, catalog: ProgramCatalog) -> None:
            catalog.merchant_id = self.merchant_id

    class ProgramDefined(Aggregate.Event):
        program: str
        name: str
        expiry_days: int | None

        def apply(self, catalog: ProgramCatalog) -> None:
            catalog.programs[self.program] = {"name": self.name, "expiry_days": self.expiry_days}

    def __init__(self) -> None:
        self.merchant_id = ""
        self.programs: dict[str, dict[str, Any]] = {}

    @staticmethod
    def id_for(merchant_id: str) -> UUID:
        return derive_id(merchant_id, "points-programs", "catalog")

    @classmethod
    def start(cls, merchant_id: str, at: datetime) -> ProgramCatalog:
        return cls._create(cls.Started, id=cls.id_for(merchant_id), merchant_id=merchant_id, timestamp=at)

    def define(self, program: str, name: str, expiry_days: int | None, at: datetime) -> None:
        """Define a program, or change its name or default expiry (for credits from now on)."""
        if not PROGRAM_PATTERN.fullmatch(program):
            raise InvalidInput("program: 1-64 of A-Z a-z 0-9 _ . -", code="invalid_program")
        if expiry_days is not None and (isinstance(expiry_days, bool) or not isinstance(expiry_days, int)
                                        or not 1 <= expiry_days <= 36_500):
            raise InvalidInput("expiry_days must be 1..36500 or null", code="invalid_expiry")
        self.trigger_event(self.ProgramDefined, program=program, name=name or program,
                           expiry_days=expiry_days, timestamp=at)

    def require(self, program: str) -> dict[str, Any]:
        found = self.programs.get(program)
        if found is None:
            raise NotFound(f"no points program {program!r}", code="program_not_found")
        return found
