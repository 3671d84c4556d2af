"""`promo jobs …` and `promo webhooks …`: run a scheduled job by hand, inspect and replay dead letters."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from application.clock import Clock, ManualClock
from application.commands import Actor
from domain.clock import require_utc
from infrastructure.bootstrap import Container

JOB_NAMES = ("campaign_schedule", "points_expiry", "date_triggers", "low_stock")


def add_automation_commands(commands: Any) -> None:
    """Register the `jobs` and `webhooks` command groups on the `promo` parser's subcommands."""
    jobs = commands.add_parser("jobs", help="scheduled jobs").add_subparsers(required=True, metavar="ACTION")
    run = jobs.add_parser("run", help="run a job now, as of --at (safe beside running servers)")
    run.add_argument("name", choices=JOB_NAMES)
    run.add_argument("--at", type=_instant, help="ISO-8601 time with a zone (default: now)")
    run.set_defaults(func=_run_job)
    listing = jobs.add_parser("list", help="the jobs and their periods")
    listing.set_defaults(func=_list_jobs)
    policies = jobs.add_parser("policies", help="policy positions (workflows, webhook outbox) and lag")
    policies.set_defaults(func=_policies)

    hooks = commands.add_parser("webhooks", help="webhook deliveries").add_subparsers(
        required=True, metavar="ACTION")
    dead = hooks.add_parser("dead-letters", help="list dead-lettered deliveries")
    dead.add_argument("--merchant", required=True)
    dead.set_defaults(func=_dead_letters)
    replay = hooks.add_parser("replay", help="send a dead-lettered delivery again")
    replay.add_argument("delivery_id", type=UUID)
    replay.add_argument("--merchant", required=True)
    replay.set_defaults(func=_replay)
    deliver = hooks.add_parser("deliver", help="attempt every due delivery now (no server needed)")
    deliver.set_defaults(func=_deliver)


def clock_for(args: argparse.Namespace) -> Clock | None:
    """A job run `--at` a time decides as of that time: the container gets a clock stopped there."""
    at = getattr(args, "at", None)
    return ManualClock(at) if at is not None else None


def _instant(text: str) -> datetime:
    try:
        return require_utc(datetime.fromisoformat(text), "--at")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time with a zone: {text}") from exc
    except Exception as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _run_job(container: Container, args: argparse.Namespace) -> int:
    report = container.jobs.run(args.name, container.clock(), claim=False)
    print(json.dumps(report.as_dict(), indent=2, default=str))
    return 0


def _list_jobs(container: Container, args: argparse.Namespace) -> int:
    print(json.dumps([{"job": job.name, "period_seconds": int(job.period.total_seconds()),
                       "reads": list(job.reads)} for job in container.jobs.jobs.values()], indent=2))
    return 0


def _policies(container: Container, args: argparse.Namespace) -> int:
    head = container.ledger.head()
    print(json.dumps([runner.status(head) for runner in container.policies.runners], indent=2))
    return 0


def _dead_letters(container: Container, args: argparse.Namespace) -> int:
    container.automation_reader.freshen(["webhook_log"])
    items = container.automation_reader.deliveries(args.merchant, None, "dead", 1000, None)
    print(json.dumps(items, indent=2, default=str))
    return 0


def _replay(container: Container, args: argparse.Namespace) -> int:
    actor = Actor(merchant_id=args.merchant, role="admin", ref=f"cli:{getpass.getuser()}")
    print(json.dumps(container.webhooks.replay(actor, args.delivery_id).body, indent=2))
    return 0


def _deliver(container: Container, args: argparse.Namespace) -> int:
    container.policies.run_once()
    container.automation_reader.freshen(["webhook_log"])
    print(json.dumps({"attempted": container.webhook_worker.run_once()}))
    return 0
