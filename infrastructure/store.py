"""The event store's configuration: a database URL becomes an `eventsourcing` environment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from infrastructure.settings import Settings


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> str:
    """`sqlite:///relative/path.db` or `sqlite:////absolute/path.db`."""
    path = url[len("sqlite:///"):]
    if not path:
        raise ValueError("the SQLite URL names no file")
    return path


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The environment `eventsourcing` reads to build its recorders for this database."""
    url = settings.database_url
    if not is_postgres(url):
        path = Path(sqlite_path(url))
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.postgres_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.postgres_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.postgres_connect_timeout),  # see postgres_recorder
        "POSTGRES_LOCK_TIMEOUT": "10",
        # No ping per checkout (one more round trip each): the library retries reads and
        # inserts on connection errors, and the pool drops broken connections.
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        # The library's recorder, minus pipeline mode for multi-megabyte transactions
        # (partner code imports), where psycopg's pipeline deadlocks.
        "APPLICATION_RECORDER_TOPIC": "infrastructure.postgres_recorder:LargeSafePostgresRecorder",
        # Never POSTGRES_ENABLE_DB_FUNCTIONS: it drops tracking rows (see EVENTSOURCING-NOTES).
    }
