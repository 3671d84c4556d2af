"""Voucher codes: normalisation of given codes and random generation from a spec (V1)."""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from domain.errors import InvalidInput

DEFAULT_CHARSET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed at tills
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")
AFFIX_PATTERN = re.compile(r"^[A-Z0-9_-]{0,16}$")
# A campaign's code space must hold this many times its codes, so that a random
# guess of a well-formed code hits a real one with probability below 1 in 1,000.
MIN_SPACE_FACTOR = 1_000


ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def canonical_code(code: str) -> str:
    """Codes are case-insensitive: trimmed and upper-cased, ASCII letters only (str.upper() would
    turn look-alikes such as long s or dotless i into S and I, redeeming a real code)."""
    return code.strip().translate(ASCII_UPPER)


def normalize_code(code: str) -> str:
    """The canonical code, checked against the allowed format."""
    normalized = canonical_code(code)
    if not CODE_PATTERN.fullmatch(normalized):
        raise InvalidInput(
            "a code is 3-64 characters of A-Z, 0-9, '-' or '_'", code="invalid_code_format"
        )
    return normalized


@dataclass(frozen=True)
class CodeSpec:
    """How generated codes look: length or pattern ('#' = random character), charset, affixes."""

    length: int = 8
    charset: str = DEFAULT_CHARSET
    prefix: str = ""
    suffix: str = ""
    pattern: str | None = None

    def validate(self) -> None:
        if len(set(self.charset)) != len(self.charset) or len(self.charset) < 2:
            raise InvalidInput("charset needs 2+ distinct characters", code="invalid_code_spec")
        if not re.fullmatch(r"[A-Z0-9]+", self.charset):
            raise InvalidInput("charset may hold only A-Z and 0-9", code="invalid_code_spec")
        if not (AFFIX_PATTERN.fullmatch(self.prefix) and AFFIX_PATTERN.fullmatch(self.suffix)):
            raise InvalidInput("prefix/suffix: up to 16 of A-Z 0-9 - _", code="invalid_code_spec")
        if self.pattern is not None and not re.fullmatch(r"[A-Z0-9#_-]{1,48}", self.pattern):
            raise InvalidInput("pattern: A-Z 0-9 - _ and '#'", code="invalid_code_spec")
        if not 4 <= self.random_chars <= 48:
            raise InvalidInput("codes need 4-48 random characters", code="invalid_code_spec")
        # Every code the spec can produce must be one that redemption accepts.
        sample = self._assemble(lambda: self.charset[0])
        if not CODE_PATTERN.fullmatch(sample):
            raise InvalidInput(
                "generated codes must be 3-64 characters starting with A-Z or 0-9",
                code="invalid_code_spec",
            )

    @property
    def random_chars(self) -> int:
        return self.pattern.count("#") if self.pattern is not None else self.length

    @property
    def space(self) -> int:
        """How many distinct codes the spec can produce."""
        return int(len(self.charset) ** self.random_chars)

    @property
    def entropy_bits(self) -> float:
        return self.random_chars * math.log2(len(self.charset))

    def check_room_for(self, total_codes: int) -> None:
        """Refuse a campaign size that would make codes guessable."""
        if total_codes * MIN_SPACE_FACTOR > self.space:
            raise InvalidInput(
                f"{total_codes} codes need a code space of at least "
                f"{total_codes * MIN_SPACE_FACTOR}; this spec has {self.space}",
                code="code_space_too_small",
            )

    def generate(self, rng: random.Random) -> str:
        return self._assemble(lambda: rng.choice(self.charset))

    def _assemble(self, pick: Callable[[], str]) -> str:
        if self.pattern is None:
            body = "".join(pick() for _ in range(self.length))
        else:
            body = "".join(pick() if c == "#" else c for c in self.pattern)
        return f"{self.prefix}{body}{self.suffix}"

    def generate_many(self, rng: random.Random, count: int, avoid: set[str]) -> list[str]:
        """`count` new distinct codes, none of them in `avoid`."""
        if count > self.space - len(avoid):
            raise InvalidInput("the code space is exhausted", code="code_space_too_small")
        codes: list[str] = []
        seen = set(avoid)
        while len(codes) < count:
            code = self.generate(rng)
            if code not in seen:
                seen.add(code)
                codes.append(code)
        return codes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeSpec:
        try:
            spec = cls(**data)
        except TypeError as exc:
            raise InvalidInput(f"bad code spec: {exc}", code="invalid_code_spec") from None
        spec.validate()
        return spec
