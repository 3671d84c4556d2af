"""The operations dashboard in a real headless Chromium, served by a real `promo serve` (both stores).

The demo data is seeded in-process with a clock two weeks back (so the charts have days), then a
server is started on the same database; its automation raises the fraud flag for the guessed
codes. The page must load with no console errors and no request leaving the app, show the
seeded campaigns, charts, the open flag, and a customer's 360 with the replayed points ledger.
A screenshot is saved under tests/artifacts/ (not committed).
"""

from __future__ import annotations

import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from application.clock import ManualClock
from infrastructure.bootstrap import build
from infrastructure.seed import DEMO_MERCHANT, seed_demo
from infrastructure.settings import Settings
from tests.conftest import IN_CI
from tests.http.test_e2e import serve

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return found


def seed(database_url: str) -> str:
    """The demo merchant with two weeks of activity; returns a reporting key."""
    clock = ManualClock(datetime.now(UTC) - timedelta(days=14))
    container = build(Settings(database_url=database_url, seed_demo=False), clock=clock, rng=random.Random(3))
    try:
        assert seed_demo(container, advance=clock.advance) is not None
        return container.access.create_key(DEMO_MERCHANT, "reporting", label="dashboard test").secret
    finally:
        container.close()


def wait_for_flag(base_url: str, key: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as http:
        while time.monotonic() < deadline:
            if http.get("/v1/fraud/flags", params={"status": "open"}).json()["items"]:
                return
            time.sleep(0.2)
    pytest.fail("the server's fraud detector raised no flag for the guessed codes")


def test_the_dashboard_shows_the_demo_data_in_a_real_browser(database_url: str, tmp_path: Path,
                                                             request: pytest.FixtureRequest) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    key = seed(database_url)
    store = "postgres" if database_url.startswith("postgres") else "sqlite"
    with serve(database_url, tmp_path, "dashboard") as server:
        wait_for_flag(server.base_url, key)
        problems: list[str] = []
        foreign: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1360, "height": 1500})
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.on("request", lambda r: None if r.url.startswith(server.base_url)
                        else foreign.append(r.url))
                page.goto(f"{server.base_url}/dashboard#key={key}")
                page.wait_for_selector("body[data-loaded=true]", timeout=20_000)
                assert "#key" not in page.url  # the key left the address bar

                campaigns = page.inner_text("#campaigns")
                assert "Welcome 10% off" in campaigns and "Spring €5 off" in campaigns
                assert "left" in page.inner_text("#campaigns tr[data-campaign=spring]")  # a stock bar
                for chart in ("#chart-days", "#chart-reasons", "#chart-costs"):
                    page.wait_for_selector(f"{chart} .main-svg", timeout=10_000)
                assert "code guessing" in page.inner_text("#flags")
                assert int(page.inner_text("#flag-count")) >= 1

                page.fill("#customer-input", "alice")
                page.click("#customer-form button")
                page.wait_for_selector("#replayed-ledger table", timeout=10_000)
                customer = page.inner_text("#customer")
                assert "main/regular: 250" in customer  # points balance
                assert "Welcome 10% off" in customer  # a favourite campaign
                assert "+250" in page.inner_text("#replayed-ledger")  # the replayed welcome bonus

                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"dashboard-{store}.png"), full_page=True)
            finally:
                browser.close()
        assert problems == [], problems
        assert foreign == [], f"the page reached outside the app: {foreign}"


def test_the_dashboard_page_and_assets_are_served_without_a_key(client: Any) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "Bearer pl_" not in page.text and "acme" not in page.text  # no key or data in the page
    bundle = client.get("/dashboard/static/plotly.min.js")
    assert bundle.status_code == 200 and len(bundle.content) > 1_000_000
    assert client.get("/dashboard/static/dashboard.js").status_code == 200
    assert client.get("/dashboard/static/../app.py").status_code == 404
    assert client.get("/dashboard/static/secrets.txt").status_code == 404
