"""What the fault tests share: a seeded shop, `promo serve` processes, a redemption load, and the
checks run after a fault (nothing lost, nothing half-applied, retries exactly once, read models
equal to a replay).

Run as a module it is also the projection runner the projection-crash test kills mid-batch:
    python -m tests.faults.helpers stall-projections URL MARKER POSITION NAME BATCH
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from application.commands import Actor
from infrastructure.bootstrap import Container, build
from infrastructure.settings import Settings
from projections.hub import PROJECTIONS
from tests.support.pgcluster import PostgresCluster, free_port

ROOT = Path(__file__).resolve().parents[2]
MERCHANT = "faults"
ADMIN = Actor(merchant_id=MERCHANT, role="admin", ref="test:faults")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PROBLEM_TYPE = "application/problem+json"

Headers = dict[str, str]


# --- the shop: one live campaign of single-use codes, and keys --------------------------------

@dataclass(frozen=True)
class Shop:
    campaign: str
    codes: list[str]
    checkout: Headers
    auditor: Headers


def open_container(database_url: str, **overrides: Any) -> Container:
    return build(Settings(database_url=database_url, seed_demo=False, **overrides), rng=random.Random(8))


def live_campaign(container: Container, key: str) -> None:
    container.campaigns.create_campaign(ADMIN, key, {
        "name": key, "currency": "EUR", "reward": {"type": "amount_off", "amount": 100}})
    for action in ("submit", "approve", "activate"):
        container.campaigns.change_status(ADMIN, key, action)


def seed_shop(database_url: str, codes: int, campaign: str = "faults") -> Shop:
    """A live campaign with `codes` generated single-use codes, a checkout and an auditor key."""
    container = open_container(database_url)
    try:
        live_campaign(container, campaign)
        issued: list[str] = container.vouchers.issue_codes(ADMIN, campaign, count=codes).body["codes"]
        checkout = container.access.create_key(MERCHANT, "checkout").secret
        auditor = container.access.create_key(MERCHANT, "auditor").secret
    finally:
        container.close()
    return Shop(campaign, issued, {"Authorization": f"Bearer {checkout}"},
                {"Authorization": f"Bearer {auditor}"})


# --- `promo serve` as a real process -----------------------------------------------------------

@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def diagnostics(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            text = ""
        return f"server log ({self.log_path}), last 4000 chars:\n{text[-4000:]}"

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no lifespan, no flush. Waits for the process to be gone."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PROMO_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1",
            "PROMO_LOG_LEVEL": "warning", "PROMO_PROJECTION_POLL_SECONDS": "0.02",
            "PROMO_SEED_DEMO": "false", **extra}


def start_server(database_url: str, log_dir: Path, name: str, **extra_env: str) -> ServerProcess:
    """`promo serve --no-seed` on a free port of 127.0.0.1; returns once /healthz answers."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "serve", "--no-seed",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=server_env(database_url, **extra_env), stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}\n{server.diagnostics()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.kill()
    pytest.fail(f"server not healthy within {START_TIMEOUT}s\n{server.diagnostics()}")


@contextmanager
def running(database_url: str, log_dir: Path, name: str, **extra_env: str) -> Iterator[ServerProcess]:
    server = start_server(database_url, log_dir, name, **extra_env)
    try:
        yield server
    finally:
        server.stop()


def promo(database_url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The `promo` command line as a subprocess on this database."""
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], cwd=ROOT,
                          env=server_env(database_url), capture_output=True, text=True, timeout=timeout)


# --- PostgreSQL away and back (a private cluster: never the session-shared one) ----------------

def pg_stop(cluster: PostgresCluster) -> None:
    """`pg_ctl stop -m fast`: sessions are terminated, the data directory is kept."""
    cluster._close_admin()
    cluster._run(*cluster._pg_ctl("stop", "-m", "fast"))


def pg_start(cluster: PostgresCluster) -> None:
    """`pg_ctl start` on the same data directory and port."""
    cluster._run(*cluster._pg_ctl("start"))


def pg_is_up(cluster: PostgresCluster) -> bool:
    return (cluster.data_dir / "postmaster.pid").exists()


# --- the load: client threads redeeming distinct codes with Idempotency-Keys --------------------

@dataclass(frozen=True)
class Attempt:
    index: int
    code: str
    scope: str = "faults"  # keys and order ids are unique per scope (a shop's campaign)

    @property
    def key(self) -> str:
        return f"{self.scope}-redeem-{self.index}"

    @property
    def order_id(self) -> str:
        return f"{self.scope}-order-{self.index}"

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "customer_id": f"customer-{self.index % 13}",
                "order": {"id": self.order_id, "amount": 5000, "currency": "EUR"}}


@dataclass(frozen=True)
class Answer:
    """What the client saw: a status and body, or no answer at all (`status` None)."""

    status: int | None
    body: Any = None
    headers: Headers = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"{self.status} {self.body!r}" if self.status is not None else f"no answer: {self.error}"


def attempts_for(shop: Shop) -> list[Attempt]:
    return [Attempt(i, code, shop.campaign) for i, code in enumerate(shop.codes)]


def redeem(http: httpx.Client, attempt: Attempt, headers: Headers) -> Answer:
    started = time.monotonic()
    try:
        response = http.post("/v1/redemptions", json=attempt.body(),
                             headers={**headers, "Idempotency-Key": attempt.key})
    except httpx.HTTPError as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body, dict(response.headers), seconds=time.monotonic() - started)


class Load:
    """`threads` clients take attempts off one queue and redeem them until it is empty or
    `stop()`; every attempt taken gets an Answer (an exception is "no answer"). Each client
    waits `pause` seconds between requests, so the load lasts through the fault."""

    def __init__(self, base_url: str, headers: Headers, attempts: Sequence[Attempt], *,
                 threads: int = 6, timeout: float = 60.0, pause: float = 0.0) -> None:
        self.base_url = base_url
        self.headers = headers
        self.timeout = timeout
        self.pause = pause
        self._pending = list(reversed(attempts))
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self.answers: dict[int, Answer] = {}
        self.log: list[tuple[float, int, Answer]] = []  # (monotonic time answered, index, answer)
        self._threads = [threading.Thread(target=self._work, name=f"load-{n}", daemon=True)
                         for n in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()
        self.join()

    def _next(self) -> Attempt | None:
        with self._lock:
            if self._stop.is_set() or not self._pending:
                return None
            return self._pending.pop()

    def _work(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as http:
            while (attempt := self._next()) is not None:
                answer = redeem(http, attempt, self.headers)
                with self._lock:
                    self.answers[attempt.index] = answer
                    self.log.append((time.monotonic(), attempt.index, answer))
                    self._lock.notify_all()
                if self.pause:
                    self._stop.wait(self.pause)

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        """Block until predicate(answers) is true; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self.answers):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.1))
        return True

    def wait_answers(self, count: int, timeout: float) -> bool:
        return self.wait_for(lambda answers: len(answers) >= count, timeout)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "load threads did not finish"

    def snapshot(self) -> dict[int, Answer]:
        with self._lock:
            return dict(self.answers)


# --- after the fault: what the store says ------------------------------------------------------

def assert_problem(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.describe()
    assert answer.headers.get("content-type", "").startswith(PROBLEM_TYPE), answer.headers
    assert isinstance(answer.body, dict) and answer.body.get("code") == code, answer.body
    assert answer.body.get("status") == status, answer.body
    assert answer.body.get("type") == f"urn:promoledger:problem:{code}", answer.body


def _get(http: httpx.Client, path: str, headers: Headers, **params: Any) -> Any:
    response = http.get(path, headers=headers, params=params or None)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
    return response.json()


def stored_redemption(http: httpx.Client, shop: Shop, attempt: Attempt) -> str | None:
    """The redemption the event store holds for this attempt's code, or None; fails when the store
    is inconsistent: a voucher counting a use without its Redeemed event, a Redeemed event whose
    Redemption stream is missing or names another code or order, or more than one use."""
    voucher = _get(http, f"/v1/vouchers/{attempt.code}", shop.auditor)
    stream = _get(http, f"/v1/audit/streams/{voucher['id']}", shop.auditor)
    redeemed = [e["data"]["redemption_id"] for e in stream["events"] if e["type"] == "Voucher.Redeemed"]
    assert voucher["redemption_count"] == len(redeemed) <= 1, (attempt, voucher, stream)
    for redemption_id in redeemed:
        redemption = _get(http, f"/v1/redemptions/{redemption_id}", shop.auditor)
        assert (redemption["status"], redemption["code"], redemption["order"]["id"]) == (
            "redeemed", attempt.code, attempt.order_id), redemption
    return redeemed[0] if redeemed else None


def stored_redemptions(base_url: str, shop: Shop, attempts: Sequence[Attempt]) -> dict[int, str | None]:
    with httpx.Client(base_url=base_url, timeout=30.0) as http, ThreadPoolExecutor(4) as pool:
        found = pool.map(lambda a: (a.index, stored_redemption(http, shop, a)), attempts)
        return dict(found)


def retry_all(base_url: str, shop: Shop, attempts: Sequence[Attempt]) -> dict[int, Answer]:
    with httpx.Client(base_url=base_url, timeout=30.0) as http, ThreadPoolExecutor(4) as pool:
        return dict(pool.map(lambda a: (a.index, redeem(http, a, shop.checkout)), attempts))


def without_position(body: Any) -> Any:
    return {k: v for k, v in body.items() if k != "position"} if isinstance(body, dict) else body


def verify_nothing_lost(base_url: str, shop: Shop, attempts: Sequence[Attempt],
                        answers: dict[int, Answer]) -> dict[int, str]:
    """The promise after any fault, checked against the event store (not the read models):

    * every attempt answered 2xx is in the store, as answered;
    * no attempt is half-applied: a voucher's use, its Redeemed event and its Redemption stream
      are all there or none is (a failed or unanswered attempt may have committed whole);
    * retrying every attempt with its Idempotency-Key gives back the original answer for those
      answered before (and for those that committed unanswered), and applies the rest once;
    * retrying those not answered 2xx at first once more changes nothing.
    Returns each attempt's redemption id.
    """
    before = stored_redemptions(base_url, shop, attempts)
    for attempt in attempts:
        answer = answers.get(attempt.index)
        if answer is not None and answer.ok:
            assert answer.status == 201, answer.describe()
            assert before[attempt.index] == answer.body["id"], (attempt, answer.describe())

    retried = retry_all(base_url, shop, attempts)
    final: dict[int, str] = {}
    for attempt in attempts:
        first, again = answers.get(attempt.index), retried[attempt.index]
        assert again.status == 201, (attempt, again.describe())
        if first is not None and first.ok:
            assert without_position(again.body) == without_position(first.body), (first, again)
            assert again.headers.get("idempotent-replayed") == "true", again.headers
        elif before[attempt.index] is not None:  # committed, but the answer never arrived
            assert again.body["id"] == before[attempt.index], (attempt, again.describe())
            assert again.headers.get("idempotent-replayed") == "true", again.headers
        else:  # never applied: the retry applies it
            assert again.headers.get("idempotent-replayed") is None, again.headers
        final[attempt.index] = again.body["id"]

    after = stored_redemptions(base_url, shop, attempts)
    assert after == final, "the store does not hold exactly the redemptions the retries answered"
    assert len(set(final.values())) == len(attempts)

    unanswered = [a for a in attempts if not (a.index in answers and answers[a.index].ok)]
    print(f"{len(attempts)} attempts: {len(attempts) - len(unanswered)} answered 2xx, "
          f"{sum(a.index in answers for a in unanswered)} failed or unanswered, of which "
          f"{sum(a.index in answers and before[a.index] is not None for a in unanswered)} had committed")
    once_more = retry_all(base_url, shop, unanswered)
    assert {i: (a.status, a.body["id"]) for i, a in once_more.items()} == {
        a.index: (201, final[a.index]) for a in unanswered}
    return final


# --- read models -------------------------------------------------------------------------------

def wait_caught_up(base_url: str, auditor: Headers, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Poll the projection status until every read model is at the head with no error."""
    deadline = time.monotonic() + timeout
    status: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        while time.monotonic() < deadline:
            response = http.get("/v1/audit/projections", headers=auditor)
            if response.status_code == 200:
                status = response.json()
                if all(s["lag"] == 0 and s["error"] is None for s in status):
                    return status
            time.sleep(0.1)
    pytest.fail(f"read models not caught up within {timeout}s: {status}")


def audit_over_http(base_url: str, auditor: Headers) -> list[dict[str, Any]]:
    """POST /v1/audit/projections/{name} for every read model: this merchant's rows vs a replay."""
    reports = []
    with httpx.Client(base_url=base_url, timeout=60.0) as http:
        for cls in PROJECTIONS:
            response = http.post(f"/v1/audit/projections/{cls.name}", headers=auditor)
            assert response.status_code == 200, response.text
            reports.append(response.json())
    bad = [r for r in reports if not r["ok"]]
    assert not bad, bad
    return reports


def audit_with_cli(database_url: str) -> list[dict[str, Any]]:
    """`promo projections audit`: every read model, every merchant, row by row; exit 1 on mismatch."""
    import json

    result = promo(database_url, "projections", "audit")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    reports: list[dict[str, Any]] = json.loads(result.stdout)
    assert {r["projection"] for r in reports} == {cls.name for cls in PROJECTIONS}
    return reports


def read_model_rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model table, sorted, plus the tracking positions."""
    container = open_container(database_url)
    try:
        with container.db.transaction() as tx:
            tables: dict[str, list[tuple[Any, ...]]] = {}
            for cls in PROJECTIONS:
                for table in cls.tables:
                    rows = tx.query(f"SELECT * FROM {table}")
                    tables[table] = sorted((tuple(sorted(r.items())) for r in rows), key=repr)
            return tables
    finally:
        container.close()


def tracking_positions(database_url: str) -> dict[str, int]:
    container = open_container(database_url)
    try:
        with container.db.transaction() as tx:
            return {r["name"]: int(r["position"])
                    for r in tx.query("SELECT name, position FROM projection_tracking")}
    finally:
        container.close()


# --- several servers on one database; racing clients that settle every call --------------------

def launch_server(database_url: str, log_dir: Path, name: str, **extra_env: str) -> ServerProcess:
    """`promo serve --no-seed` on a free port of 127.0.0.1, not waited for."""
    port = free_port()
    with (log_dir / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "serve", "--no-seed",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=server_env(database_url, **extra_env), stdout=log, stderr=subprocess.STDOUT)
    return ServerProcess(process, f"http://127.0.0.1:{port}", log_dir / f"{name}.log")


def start_servers(database_url: str, log_dir: Path, count: int, name: str = "server",
                  env: dict[str, str] | None = None, timeout: float = 120.0) -> list[ServerProcess]:
    """`count` `promo serve` processes on one database (`env`: more settings), started side by
    side; returns once each answers /healthz. If one exits, or one is still silent after `timeout`
    seconds (generous: on a busy machine several importing everything at once start slowly),
    all are killed and the test fails."""
    servers = [launch_server(database_url, log_dir, f"{name}-{n}", **(env or {})) for n in range(count)]
    waiting = list(servers)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0, verify=False) as http:  # plain HTTP: no CA bundle to load
        while waiting and time.monotonic() < deadline:
            if any(s.process.poll() is not None for s in waiting):
                break
            for server in list(waiting):
                try:
                    if http.get(f"{server.base_url}/healthz").status_code == 200:
                        waiting.remove(server)
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
    if waiting:
        for server in servers:
            server.kill()
        pytest.fail("servers not healthy: " + "\n".join(
            f"{s.pid} exit {s.process.returncode}\n{s.diagnostics()}" for s in waiting))
    return servers


@dataclass(frozen=True)
class Call:
    """One client request, POSTed with its Idempotency-Key until the answer is definite."""

    path: str
    body: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Settled:
    """A call's definite answer, the server (index) that gave it, and the answers retried first."""

    call: Call
    answer: Answer
    server: int
    retried: tuple[str, ...] = ()

    @property
    def outcome(self) -> tuple[int | None, str | None]:
        """(status, problem code); the code is None for a success."""
        body = self.answer.body
        code = body.get("code") if isinstance(body, dict) and not self.answer.ok else None
        return self.answer.status, code


def post(http: httpx.Client, call: Call, headers: Headers) -> Answer:
    started = time.monotonic()
    try:
        response = http.post(call.path, json=call.body, headers={**headers, "Idempotency-Key": call.key})
    except httpx.HTTPError as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body, dict(response.headers), seconds=time.monotonic() - started)


def retryable(answer: Answer) -> bool:
    """What a client retries with the same Idempotency-Key: no answer, a 503, a 409 conflict."""
    if answer.status is None or answer.status == 503:
        return True
    return answer.status == 409 and isinstance(answer.body, dict) and answer.body.get("code") == (
        "concurrent_update")


def settle(http: httpx.Client, call: Call, headers: Headers, server: int,
           give_up_after: float = 60.0) -> Settled:
    """POST the call until the answer is not retryable (or `give_up_after` seconds have passed)."""
    deadline = time.monotonic() + give_up_after
    retried: list[str] = []
    while True:
        answer = post(http, call, headers)
        if not retryable(answer) or time.monotonic() > deadline:
            return Settled(call, answer, server, tuple(retried))
        retried.append(answer.describe()[:200])
        time.sleep(random.uniform(0.05, 0.2) if answer.status == 503 else random.uniform(0.0, 0.02))


def race(base_urls: Sequence[str], headers: Headers, calls: Sequence[Call], *, clients: int,
         timeout: float = 60.0, within: float = 600.0) -> list[Settled]:
    """`clients` threads, client n talking to server n % len(base_urls), released together by a
    barrier, take the calls off one queue in order and settle each. One Settled per call, in the
    calls' order; a client that fails for any other reason, or a race still running after
    `within` seconds, fails the test."""
    pending = list(reversed(list(enumerate(calls))))
    settled: list[Settled | None] = [None] * len(calls)
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def work(n: int) -> None:
        server = n % len(base_urls)
        with httpx.Client(base_url=base_urls[server], timeout=timeout, verify=False) as http:
            barrier.wait(timeout=30)
            while True:
                with lock:
                    if not pending or errors:
                        return
                    index, call = pending.pop()
                try:
                    settled[index] = settle(http, call, headers, server)
                except Exception as exc:  # reported below, never lost in a thread
                    with lock:
                        errors.append(f"{call}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(n,), name=f"race-{n}", daemon=True)
               for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"racing clients still busy after {within}s"
    assert not errors, errors[:3]
    done = [s for s in settled if s is not None]
    assert len(done) == len(calls), f"{len(calls) - len(done)} calls never settled"
    return done


# --- the projection runner killed mid-batch ----------------------------------------------------

def stall_projections(database_url: str, marker: str, position: int, name: str, batch: int) -> None:
    """Run the projection hub; when projection `name` has applied the event at `position` inside
    an open batch transaction, write `marker` and hang there until killed."""
    container = open_container(database_url, projection_batch_size=batch, automation=False)
    projection = container.projections.runner(name).projection
    apply = projection.process

    def process(event: Any, tx: Any, at: int) -> None:
        apply(event, tx, at)
        if at >= position:
            Path(marker).write_text(str(at))
            time.sleep(3600)

    projection.process = process  # type: ignore[method-assign, assignment]
    container.projections.start()
    time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1:2] == ["stall-projections"]:
        url, mark, at, projection_name, size = sys.argv[2:7]
        stall_projections(url, mark, int(at), projection_name, int(size))
    else:
        sys.exit(f"usage: {sys.argv[0]} stall-projections URL MARKER POSITION NAME BATCH")
