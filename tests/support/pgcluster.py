"""Throwaway PostgreSQL clusters for tests and benchmarks (stdlib + psycopg 3 only)."""

from __future__ import annotations

import atexit
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

HOST = "127.0.0.1"
ROLE = "promo"
RUN_AS = "postgres"
_BINARIES = ("initdb", "pg_ctl", "postgres")
_BIND_ERRORS = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")
_TAIL = 50


def _has_binaries(directory: Path) -> bool:
    """Tell whether directory holds executable initdb, pg_ctl and postgres."""
    return all(os.access(directory / name, os.X_OK) for name in _BINARIES)


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin."""
    try:
        return tuple(int(part) for part in bin_dir.parent.name.split("."))
    except ValueError:
        return (-1,)


def find_pg_bin() -> Path | None:
    """Return the directory holding initdb, pg_ctl and postgres, or None."""
    candidates = [Path(env)] if (env := os.environ.get("PROMO_PG_BIN")) else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    if which := shutil.which("pg_ctl"):
        candidates.append(Path(which).resolve().parent)
    return next((c for c in candidates if _has_binaries(c)), None)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(text: str) -> str:
    """Return the last lines of text."""
    return "\n".join(text.splitlines()[-_TAIL:])


class PostgresCluster:
    """A private PostgreSQL server in a temp dir, reachable only on 127.0.0.1."""

    host = HOST

    def __init__(self, *, fsync: bool = False, base_dir: str | None = None) -> None:
        """Locate the binaries and the user to run them as; start nothing yet."""
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL binaries not found: install postgresql or set PROMO_PG_BIN")
        self.bin_dir = bin_dir
        self.fsync = fsync
        self.base_dir = base_dir
        self.tmp: Path | None = None
        self._port: int | None = None
        self._admin: psycopg.Connection[Any] | None = None
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam(RUN_AS)
            except KeyError:
                raise RuntimeError(
                    f"running as root, but PostgreSQL refuses root and there is no "
                    f"{RUN_AS!r} user to run it as"
                ) from None

    @property
    def port(self) -> int:
        """TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("cluster not started")
        return self._port

    @property
    def dsn(self) -> str:
        """URL of the default promo database."""
        return self._url(ROLE)

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        if self.tmp is None:
            raise RuntimeError("cluster not started")
        return self.tmp / "data"

    @property
    def log_file(self) -> Path:
        """The server log written by pg_ctl -l."""
        return self.data_dir.parent / "postgres.log"

    def start(self) -> PostgresCluster:
        """Create the cluster, start the server and create role and database promo."""
        if self.tmp is not None:
            return self
        self.tmp = Path(tempfile.mkdtemp(prefix="promo-pg-", dir=self.base_dir))
        atexit.register(self.stop)
        try:
            self._prepare_dir()
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.write("\ninclude 'promo.conf'\n")
            self._start_server()
            with psycopg.connect(self._url("postgres", user="postgres"), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                        sql.Identifier(ROLE), sql.Literal(ROLE)
                    )
                )
            self.create_database(ROLE)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill the server (immediate mode) and delete its temp dir; safe to call twice."""
        atexit.unregister(self.stop)
        self._close_admin()
        if self.tmp is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                "pg_ctl", "stop", "-m", "immediate", "-w", "-t", "60", "-D", str(self.data_dir), check=False
            )
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None
        self._port = None

    def restart(self) -> None:
        """Restart the server in fast mode on the same port."""
        self._close_admin()
        self._run(*self._pg_ctl("restart", "-m", "fast"))

    def create_database(self, name: str) -> str:
        """Create an empty database owned by promo and return its URL."""
        self._admin_conn().execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                sql.Identifier(name), sql.Identifier(ROLE)
            )
        )
        return self._url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting its sessions first."""
        self._admin_conn().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _url(self, database: str, *, user: str = ROLE) -> str:
        """Return a connection URL for database on this server."""
        auth = f"{user}:{ROLE}" if user == ROLE else user
        return f"postgresql://{auth}@{HOST}:{self.port}/{quote(database, safe='')}"

    def _admin_conn(self) -> psycopg.Connection[Any]:
        """Return the cached autocommit superuser connection to database postgres."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self._url("postgres", user="postgres"), autocommit=True)
        return self._admin

    def _close_admin(self) -> None:
        """Close the cached superuser connection, if any."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def _as_user(self, argv: list[str]) -> list[str]:
        """Wrap argv so it runs as the unprivileged user when we are root."""
        if self._owner is None:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", RUN_AS, "--", *argv]
        return ["su", RUN_AS, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _prepare_dir(self) -> None:
        """Hand the temp dir to the server's user and check that user can reach it."""
        assert self.tmp is not None
        if self._owner is None:
            return
        os.chown(self.tmp, self._owner.pw_uid, self._owner.pw_gid)
        probe = ["test", "-w", str(self.tmp), "-a", "-x", str(self.tmp)]
        if subprocess.run(self._as_user(probe), check=False, capture_output=True, timeout=30).returncode != 0:
            raise RuntimeError(
                f"user {RUN_AS!r} cannot reach {self.tmp}; use a base_dir whose parents "
                "are world-traversable, such as /tmp"
            )

    def _write_conf(self) -> None:
        """Write the server settings included from postgresql.conf."""
        socket_dir = str(self.data_dir.parent).replace("'", "''")
        lines = [
            f"listen_addresses = '{HOST}'",
            f"port = {self.port}",
            f"unix_socket_directories = '{socket_dir}'",
            "max_connections = 200",
            "shared_buffers = 128MB",
            "log_min_messages = warning",
        ]
        if not self.fsync:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        path = self.data_dir / "promo.conf"
        path.write_text("\n".join(lines) + "\n")
        if self._owner is not None:
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)

    def _start_server(self) -> None:
        """Start the server on a free port, retrying when another process grabs the port."""
        for attempt in range(3):
            self._port = free_port()
            self._write_conf()
            seen = self.log_file.stat().st_size if self.log_file.exists() else 0
            proc = self._run(*self._pg_ctl("start"), check=False)
            if proc.returncode == 0:
                return
            with open(self.log_file, errors="replace") as log:
                log.seek(seen)
                collided = any(marker in log.read() for marker in _BIND_ERRORS)
            if attempt == 2 or not collided:
                raise RuntimeError(self._failure(["pg_ctl", "start"], proc))

    def _pg_ctl(self, action: str, *flags: str) -> list[str]:
        """pg_ctl arguments that wait up to 60 s and log to the cluster's log file."""
        waits = ["-w", "-t", "60"]
        return ["pg_ctl", action, *flags, *waits, "-D", str(self.data_dir), "-l", str(self.log_file)]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary (as the server's user) and raise RuntimeError on failure."""
        argv = [str(self.bin_dir / args[0]), *args[1:]]
        try:
            proc = subprocess.run(
                self._as_user(argv), check=False, cwd=self.tmp, capture_output=True, text=True, timeout=120
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{shlex.join(argv)} timed out\n{_tail(self._log_text())}") from exc
        if check and proc.returncode != 0:
            raise RuntimeError(self._failure(argv, proc))
        return proc

    def _log_text(self) -> str:
        """Return the server log, or an empty string when there is none."""
        try:
            return self.log_file.read_text(errors="replace")
        except (OSError, RuntimeError):
            return ""

    def _failure(self, argv: list[str], proc: subprocess.CompletedProcess[str]) -> str:
        """Describe a failed command with its output and the tail of the server log."""
        parts = [f"{shlex.join(argv)} exited with {proc.returncode}"]
        for label, text in (
            ("stdout", proc.stdout),
            ("stderr", proc.stderr),
            ("server log", self._log_text()),
        ):
            if text.strip():
                parts.append(f"--- {label} (last {_TAIL} lines) ---\n{_tail(text)}")
        return "\n".join(parts)


if __name__ == "__main__":
    with PostgresCluster() as cluster, psycopg.connect(cluster.create_database("selfcheck")) as conn:
        print(cluster.dsn, conn.execute("SELECT version()").fetchone())
