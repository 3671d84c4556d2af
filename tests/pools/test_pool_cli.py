"""`promo pool …` as a subprocess against a SQLite file: create, import (refused, then
skipping bad lines, then idempotent), export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from application.commands import Actor
from infrastructure.bootstrap import build
from infrastructure.settings import Settings
from tests.conftest import live_campaign
from tests.pools.helpers import code, csv_bytes
from tests.test_cli import promo

TARGET = ("--campaign", "oishi", "--merchant", "acme")


def test_pool_import_and_export_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    container = build(Settings(database_url=url, seed_demo=False))
    live_campaign(container, Actor("acme", "admin", "test"), "oishi")
    container.close()
    good = [code(i) for i in range(5)]
    path = tmp_path / "codes.csv"
    path.write_bytes(csv_bytes([*good, "bad", good[0]]))

    created = promo(url, "pool", "create", *TARGET, "--low-stock-threshold", "2")
    refused = promo(url, "pool", "import", str(path), *TARGET)
    imported = promo(url, "pool", "import", str(path), *TARGET, "--skip-invalid")
    again = promo(url, "pool", "import", str(path), *TARGET)
    exported = promo(url, "pool", "export", *TARGET)

    assert created.returncode == 0, created.stderr
    assert refused.returncode == 2
    report = json.loads(refused.stdout)
    assert (report["code"], [(e["line"], e["reason"]) for e in report["errors"]]) == (
        "file_rejected", [(6, "too_short"), (7, "duplicate_in_file")])
    assert imported.returncode == 0 and json.loads(imported.stdout)["accepted"] == 5
    assert again.returncode == 0 and json.loads(again.stdout)["already_imported"]
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["code"], r["status"]) for r in rows] == [(c, "available") for c in good]
