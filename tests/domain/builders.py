"""Builders shared by the domain tests: fixed times, campaign terms, live campaigns and replay."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.campaign import MULTI_USE, Campaign, CampaignTerms, Status
from domain.rewards import AmountOff
from domain.voucher import Voucher

MERCHANT = "acme"
BY = "test:ops"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """A UTC time relative to T0."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def make_terms(**overrides: Any) -> CampaignTerms:
    """Valid terms (500 off, EUR, single use) with overrides."""
    base: dict[str, Any] = {"name": "Spring sale", "currency": "EUR", "reward": AmountOff(500)}
    return CampaignTerms(**{**base, **overrides})


def draft_campaign(key: str = "spring", **overrides: Any) -> Campaign:
    return Campaign.create(MERCHANT, key, make_terms(**overrides), BY, at())


def live_campaign(key: str = "spring", **overrides: Any) -> Campaign:
    """A campaign taken through review to active. Its events are left pending."""
    campaign = draft_campaign(key, **overrides)
    campaign.submit(BY, at(minutes=1))
    campaign.approve("test:reviewer", at(minutes=2))
    campaign.activate(BY, at(minutes=3))
    return campaign


_STEPS = {
    Status.DRAFT: (),
    Status.PENDING_REVIEW: ("submit",),
    Status.APPROVED: ("submit", "approve"),
    Status.REJECTED: ("submit", "reject"),
    Status.ACTIVE: ("submit", "approve", "activate"),
    Status.ENDED: ("submit", "approve", "activate", "end"),
    Status.DISABLED: ("disable",),
}


def campaign_in(status: str, **overrides: Any) -> Campaign:
    """A campaign brought to `status` through its commands, with no pending events."""
    campaign = draft_campaign(**overrides)
    for step in _STEPS[status]:
        if step in ("reject", "disable"):
            getattr(campaign, step)(BY, "because", at(minutes=1))
        else:
            getattr(campaign, step)(BY, at(minutes=1))
    assert campaign.status == status
    campaign.collect_events()
    return campaign


def new_voucher(
    code: str = "SPRING-0001",
    redemption_limit: int | None = 1,
    *,
    holder: str | None = None,
    campaign_id: UUID | None = None,
    source: str = "generated",
) -> Voucher:
    return Voucher.issue(
        MERCHANT, campaign_id or Campaign.id_for(MERCHANT, "spring"), code, redemption_limit, at(),
        holder=holder, source=source,
    )


def rid() -> UUID:
    return uuid.uuid4()


def replay(events: Iterable[Any]) -> Any:
    """Rebuild an aggregate from its events, the way a repository does, without any store."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: Any) -> dict[str, Any]:
    """Everything an aggregate holds, except its pending events."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def assert_replays_to(aggregate: Any, events: Iterable[Any]) -> None:
    rebuilt = replay(events)
    assert type(rebuilt) is type(aggregate)
    assert state(rebuilt) == state(aggregate)


def names(events: Iterable[Any]) -> list[str]:
    return [type(event).__qualname__ for event in events]


__all__ = [
    "BY",
    "MERCHANT",
    "MULTI_USE",
    "T0",
    "assert_replays_to",
    "at",
    "campaign_in",
    "draft_campaign",
    "live_campaign",
    "make_terms",
    "names",
    "new_voucher",
    "replay",
    "rid",
    "state",
]
