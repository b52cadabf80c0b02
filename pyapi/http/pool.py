"""The connection pool and the one way a request talks to the database.

Every unit of work is one transaction that starts with ``api.authenticate``: it checks the API
key (sha256 in ``core.api_keys``), the system the endpoint belongs to and that this login may act
as that system, and records the request's identity (API key, system, hotels, application user)
for the transaction, signed so that no client can write it; it is gone at commit or rollback, so
nothing leaks to the next request served by the same pooled connection. Transactions run through
:class:`pyapi.client.Client`, which retries the whole unit on 40001 / 40P01 and maps project
SQLSTATEs to ``HotelcoreError``. The transaction then runs as the key's system role
(``set_config('role', ..., true)``, i.e. ``SET LOCAL ROLE``, in the same statement as the
authentication), so the database enforces what that system may do; the checkout saga's
transactions run as ``hotelcore_service`` instead (``Credentials.service``), the only role that
may execute the saga's steps, which then holds the rights of the request's system. This module
knows no HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool

from ..client import Client, HotelcoreError

T = TypeVar("T")

# What a unit of work may raise from the database: the client's mapped refusals and psycopg's own.
DB_ERRORS = (psycopg.Error, HotelcoreError)


@dataclass(frozen=True)
class Credentials:
    """Who is calling: the API key's token, the systems the endpoint admits, who to log."""

    token: str
    systems: tuple[str, ...] = ()
    app_user: str | None = None
    service: bool = False  # the checkout saga: act as hotelcore_service for the key's system


@dataclass(frozen=True)
class Principal:
    api_key_id: int
    system: str
    hotel_ids: tuple[int, ...]
    db_role: str | None


class Database:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 20, timeout: float = 10.0):
        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={"autocommit": True},
            configure=_configure,
            name="hotelcore-http",
        )

        self.client: Client | None = None

    def open(self) -> None:
        self.pool.open(wait=True, timeout=30)
        self.client = Client(pool=self.pool)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection without a request context (start-up, maintenance jobs)."""
        with self.pool.connection() as conn:
            yield conn

    def run(self, creds: Credentials | None, work: Callable[[psycopg.Connection], T]) -> T:
        """``work(conn)`` in one transaction (retried whole on 40001 / 40P01), authenticated first
        when ``creds`` is given."""

        def unit(conn: psycopg.Connection) -> T:
            if creds is not None:
                authenticate(conn, creds)
            return work(conn)

        return self.client.transaction(unit)


def _loads(text: str | bytes):
    # numbers in json / jsonb answers stay exact (money): Decimal, rendered by the envelope
    return json.loads(text, parse_float=Decimal)


def _configure(conn: psycopg.Connection) -> None:
    set_json_loads(_loads, conn)


def authenticate(conn: psycopg.Connection, creds: Credentials) -> Principal:
    # one round trip: the key's check and the request's identity, then the role for the
    # transaction (set_config('role', ..., true) is SET LOCAL ROLE, run by this statement, not
    # inside the security-definer function, where changing the role is refused)
    row = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            _AUTHENTICATE,
            [
                SERVICE_ROLE if creds.service else None,
                creds.token,
                list(creds.systems) or None,
                creds.app_user,
            ],
        )
        .fetchone()
    )
    return Principal(row[0], row[1], tuple(row[2] or ()), row[3])


SERVICE_ROLE = "hotelcore_service"
"""The HTTP service's own role: the checkout saga's steps are executable by it (and by
hotelcore_admin, for recovery) only."""

SYSTEM_ROLES = ("hotelcore_member", "hotelcore_pms", "hotelcore_saas", SERVICE_ROLE)
"""The roles the pool login must be a member of (``hotelcore serve`` says so at start-up)."""

_AUTHENTICATE = (
    "select a.api_key_id, a.system, a.hotel_ids, a.db_role,"
    " pg_catalog.set_config('role', coalesce(%s, a.db_role), true)"
    " from api.authenticate(%s, %s, %s) a"
)


def missing_roles(conn: psycopg.Connection) -> list[str]:
    """The roles of :data:`SYSTEM_ROLES` this connection's login is not a member of (so cannot
    SET ROLE to): requests of those systems are refused (SYSTEM_ROLE_NOT_GRANTED)."""
    rows = conn.execute(
        "select r from unnest(%s::text[]) r"
        " where not exists (select 1 from pg_catalog.pg_roles g where g.rolname = r)"
        " or not pg_catalog.pg_has_role(session_user, r, 'MEMBER')",
        [list(SYSTEM_ROLES)],
    ).fetchall()
    return [r[0] for r in rows]
