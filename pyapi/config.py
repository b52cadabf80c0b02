"""Where the project's database is: one URL for every command, test and migration.

With ``DATABASE_URL`` set, that server is used; otherwise the embedded PostgreSQL whose data
lives under ``HOTELCORE_DATA`` (default ``.hotelcore/`` in the project).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("HOTELCORE_DATA") or PROJECT_ROOT / ".hotelcore").resolve()


def external_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or None


def replica_url() -> str | None:
    """A read replica of the database (``DATABASE_REPLICA_URL``): the HTTP API sends reads there."""
    url = os.environ.get("DATABASE_REPLICA_URL", "").strip()
    return url or None


def metrics_token() -> str | None:
    """The bearer token a Prometheus scrape of /metrics must send (``HOTELCORE_METRICS_TOKEN``)."""
    token = os.environ.get("HOTELCORE_METRICS_TOKEN", "").strip()
    return token or None


@dataclass(frozen=True)
class Endpoint:
    """Host and port of a URL, for one clear line when the server does not answer."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def endpoint_of(url: str) -> Endpoint:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [os.environ.get("PGHOST", "localhost")])[0]
    port = parts.port or int((query.get("port") or [os.environ.get("PGPORT", "5432")])[0])
    return Endpoint(host, port)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return parts._replace(path="/" + database).geturl()


def sqlalchemy_url(url: str) -> str:
    """Alembic's engine URL for a libpq URL (psycopg 3 driver)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
