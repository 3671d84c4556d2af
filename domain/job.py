"""JobRun aggregate: a scheduled job's claim on one due slot, so several processes run it once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition
from domain.ids import global_id


class JobRun(Aggregate):
    """Created by the process that claims the slot; a claim left unfinished past its lease
    (the process died) may be taken over, the aggregate's version deciding between takers."""

    class Claimed(Aggregate.Created):
        job: str
        slot: str
        by: str
        lease_until: datetime

        def apply(self, run: JobRun) -> None:
            run.job, run.slot, run.lease_until = self.job, self.slot, self.lease_until

    class TakenOver(Aggregate.Event):
        by: str
        lease_until: datetime

        def apply(self, run: JobRun) -> None:
            run.lease_until = self.lease_until

    class Finished(Aggregate.Event):
        summary: dict[str, Any]

        def apply(self, run: JobRun) -> None:
            run.finished = True

    def __init__(self) -> None:
        self.job = ""
        self.slot = ""
        self.lease_until: datetime
        self.finished = False

    @staticmethod
    def id_for(job: str, slot: str) -> UUID:
        return global_id("job-run", f"{job}/{slot}")

    @classmethod
    def claim(cls, job: str, slot: str, by: str, at: datetime, lease: timedelta) -> JobRun:
        return cls._create(cls.Claimed, id=cls.id_for(job, slot), job=job, slot=slot, by=by,
                           lease_until=at + lease, timestamp=at)

    def take_over(self, by: str, at: datetime, lease: timedelta) -> None:
        if self.finished or at < self.lease_until:
            raise InvalidTransition("the slot is done or still leased", code="job_slot_taken")
        self.trigger_event(self.TakenOver, by=by, lease_until=at + lease, timestamp=at)

    def finish(self, summary: dict[str, Any], at: datetime) -> None:
        self.trigger_event(self.Finished, summary=summary, timestamp=at)
