"""`promo pool …`: create a pool, import a partner's code file, export codes (P1, P5)."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from application.commands import Actor
from application.pools import FileRejected
from domain.pool import ALPHANUMERIC, CodePool
from infrastructure.bootstrap import Container
from interfaces.http.responses import csv_cell
from projections.pool_stock import EXPORT_COLUMNS, SOLD, UNSOLD

STATUSES = {"unsold": UNSOLD, "sold": SOLD, "all": UNSOLD + SOLD}


def add_pool_commands(commands: Any) -> None:
    """Register the `pool` command group on the `promo` parser's subcommands."""
    pool = commands.add_parser("pool", help="partner code pools").add_subparsers(
        required=True, metavar="ACTION")
    create = pool.add_parser("create", help="give a campaign a pool in a declared code format")
    _target(create)
    create.add_argument("--min-length", type=int, default=20)
    create.add_argument("--max-length", type=int, default=20)
    create.add_argument("--charset", default=ALPHANUMERIC)
    create.add_argument("--low-stock-threshold", type=int, default=0)
    create.set_defaults(func=_create)
    load = pool.add_parser("import", help="import a CSV of codes (all or nothing by default)")
    load.add_argument("file")
    _target(load)
    load.add_argument("--skip-invalid", action="store_true", help="import the good lines anyway")
    load.set_defaults(func=_import)
    export = pool.add_parser("export", help="write codes as CSV (unsold by default)")
    _target(export)
    export.add_argument("--status", choices=sorted(STATUSES), default="unsold")
    export.add_argument("--output", help="file to write (default: stdout)")
    export.set_defaults(func=_export)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaign", required=True, help="campaign key")
    parser.add_argument("--merchant", required=True)


def _actor(args: argparse.Namespace) -> Actor:
    return Actor(merchant_id=args.merchant, role="admin", ref=f"cli:{getpass.getuser()}")


def _create(container: Container, args: argparse.Namespace) -> int:
    fmt = {"min_length": args.min_length, "max_length": args.max_length, "charset": args.charset}
    result = container.pools.create_pool(_actor(args), args.campaign, fmt, args.low_stock_threshold)
    print(json.dumps(result.body, indent=2))
    return 0


def _import(container: Container, args: argparse.Namespace) -> int:
    try:
        with open(args.file, "rb") as stream:
            result = container.pools.import_codes(_actor(args), args.campaign, stream, args.file,
                                                  skip_invalid=args.skip_invalid)
    except FileRejected as exc:  # the report is the point: print it whole, then fail
        print(json.dumps({"code": exc.code, "detail": exc.detail, **exc.extra}, indent=2))
        return 2
    print(json.dumps(result.body, indent=2))
    return 0


def _export(container: Container, args: argparse.Namespace) -> int:
    container.pools.get_pool(args.merchant, args.campaign)  # pool_not_found before any output
    container.pool_stock.caught_up(container.pool_stock.head())
    rows = container.pool_stock.export(args.merchant, CodePool.id_for(args.merchant, args.campaign),
                                       STATUSES[args.status])
    if args.output:
        with open(args.output, "w", newline="") as out:
            count = _write_csv(out, rows)
    else:
        count = _write_csv(sys.stdout, rows)
    print(f"{count} codes written", file=sys.stderr)
    return 0


def _write_csv(out: IO[str], rows: Iterator[dict[str, Any]]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(row[c]) for c in EXPORT_COLUMNS])
        count += 1
    return count
