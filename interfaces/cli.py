"""`promo`: serve the API, manage keys, rebuild and audit projections."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from domain.api_key import ROLES
from domain.errors import DomainError
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from interfaces.automation_cli import add_automation_commands, clock_for
from interfaces.pool_cli import add_pool_commands


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    container = build(settings, clock=clock_for(args))
    try:
        result: int = args.func(container, args)
        return result
    except DomainError as exc:
        print(f"error: {exc.code}: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        container.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="promo", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API with its projections")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-seed", action="store_true", help="do not seed a demo merchant")
    serve.set_defaults(func=_serve)

    keys = commands.add_parser("keys", help="API keys").add_subparsers(required=True, metavar="ACTION")
    create = keys.add_parser("create", help="create a key; prints it alone on stdout, once")
    create.add_argument("--merchant", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--label", default="")
    create.add_argument("--timezone", default="UTC", help="for a new merchant (IANA name)")
    create.set_defaults(func=_create_key)
    revoke = keys.add_parser("revoke", help="revoke a key (by its id, or the key itself) with a reason")
    revoke.add_argument("key", help="the key's id (from `keys list`), or the leaked key itself")
    revoke.add_argument("--merchant", required=True)
    revoke.add_argument("--reason", required=True)
    revoke.set_defaults(func=_revoke_key)
    listing = keys.add_parser("list", help="the merchant's keys as JSON (never secrets)")
    listing.add_argument("--merchant", required=True)
    listing.set_defaults(func=_list_keys)

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        required=True, metavar="ACTION")
    rebuild = projections.add_parser("rebuild", help="drop a read model and replay the ledger into it")
    rebuild.add_argument("name", help="projection name, or 'all'")
    rebuild.set_defaults(func=_rebuild)
    audit = projections.add_parser("audit", help="compare read models with a replay from zero")
    audit.add_argument("name", nargs="?", default="all")
    audit.set_defaults(func=_audit)
    status = projections.add_parser("status", help="positions and lag")
    status.set_defaults(func=_status)

    audit_group = commands.add_parser("audit", help="ledger audits").add_subparsers(
        required=True, metavar="ACTION")
    verify = audit_group.add_parser(
        "verify", help="replay every points account and compare with the ledger and wallet read models")
    verify.add_argument("--merchant", help="only this merchant's accounts")
    verify.set_defaults(func=_verify)
    add_pool_commands(commands)
    add_automation_commands(commands)
    return parser


def _names(container: Container, name: str) -> list[str]:
    return list(container.projections.runners) if name == "all" else [container.projections.runner(name).name]


def _serve(container: Container, args: argparse.Namespace) -> int:
    import uvicorn

    from infrastructure.logging import configure_logging
    from infrastructure.seed import seed_demo
    from interfaces.http.app import create_app

    settings = container.settings
    configure_logging(settings.log_level, settings.log_format)
    host, port = args.host or settings.host, args.port or settings.port
    if settings.seed_demo and not args.no_seed:
        demo = seed_demo(container)
        if demo is not None:
            print(f"New database: seeded merchant 'demo'.\n  admin API key: {demo.api_key}\n"
                  f"  try: curl -s -H 'Authorization: Bearer {demo.api_key}' "
                  f"http://{host}:{port}/v1/campaigns\n  live code: {demo.code} (10% off, EUR)",
                  flush=True)
    # Our logging, not uvicorn's: its loggers propagate to ours, and our access log has routes.
    uvicorn.run(create_app(container, run_automation=settings.automation), host=host, port=port,
                log_level=settings.log_level, log_config=None, access_log=False)
    return 0


def _create_key(container: Container, args: argparse.Namespace) -> int:
    import getpass

    key = container.access.create_key(args.merchant, args.role, args.label, args.timezone,
                                      issued_by=f"cli:{getpass.getuser()}")
    print(key.secret)
    return 0


def _revoke_key(container: Container, args: argparse.Namespace) -> int:
    import getpass
    import uuid

    from application.access import well_formed
    from application.commands import Actor
    from domain.api_key import ApiKey, hash_secret

    try:
        key_id = (ApiKey.id_for_hash(hash_secret(args.key)) if well_formed(args.key)
                  else uuid.UUID(args.key))
    except ValueError:
        print("error: KEY is neither a key id nor a key", file=sys.stderr)
        return 2
    actor = Actor(merchant_id=args.merchant, role="admin", ref=f"cli:{getpass.getuser()}")
    result = container.access.revoke_key(actor, key_id, args.reason)
    print(json.dumps(result.body, indent=2))
    return 0


def _list_keys(container: Container, args: argparse.Namespace) -> int:
    print(json.dumps(container.access.list_keys(args.merchant), indent=2))
    return 0


def _rebuild(container: Container, args: argparse.Namespace) -> int:
    for name in _names(container, args.name):
        position = container.projections.rebuild(name)
        print(f"{name}: rebuilt to position {position}", file=sys.stderr)
    return 0


def _audit(container: Container, args: argparse.Namespace) -> int:
    reports = [container.projections.audit(name) for name in _names(container, args.name)]
    print(json.dumps([report.as_dict() for report in reports], indent=2, default=str))
    return 0 if all(report.ok for report in reports) else 1


def _verify(container: Container, args: argparse.Namespace) -> int:
    from projections.points_audit import verify_points

    container.projections.catch_up()
    report = verify_points(container.ledger, container.db, args.merchant)
    print(json.dumps(report.as_dict(), indent=2, default=str))
    return 0 if report.ok else 1


def _status(container: Container, args: argparse.Namespace) -> int:
    print(json.dumps(container.projections.status(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
