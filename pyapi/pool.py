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

With a read replica (``replica_url``, from ``DATABASE_REPLICA_URL``), a unit of work declared
read-only runs there, in a read-only transaction. Read-your-writes: after a caller's write the
primary's WAL position is remembered for that caller's key, and its reads stay on the primary
until the replica has replayed that far (a booking followed by a read of it never misses it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from .client import Client, HotelcoreError

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
    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 20,
        timeout: float = 10.0,
        replica_url: str | None = None,
    ):
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
        self.replica: ConnectionPool | None = None
        self.replica_client: Client | None = None
        if replica_url:
            self.replica = ConnectionPool(
                replica_url,
                min_size=min(min_size, max_size),
                max_size=max_size,
                timeout=min(timeout, 2.0),  # a replica that does not answer soon: the primary reads
                open=False,
                kwargs={"autocommit": True, "connect_timeout": 2},
                configure=_configure,
                name="hotelcore-http-replica",
            )
        self.routing = ReadRouting()
        # the client of the connection the current run of transactions holds (:meth:`pinned`)
        self._pinned: ContextVar[Client | None] = ContextVar(f"hotelcore-pinned-{id(self)}", default=None)

    def open(self) -> None:
        self.pool.open(wait=True, timeout=30)
        self.client = Client(pool=self.pool)
        if self.replica is not None:
            # a replica that is down at start-up must not stop the API: reads fall back to the primary
            self.replica.open(wait=False)
            self.replica_client = self.client.on_pool(self.replica)

    def close(self) -> None:
        self.pool.close()
        if self.replica is not None:
            self.replica.close()

    def pools(self) -> list[tuple[str, ConnectionPool]]:
        out = [("primary", self.pool)]
        if self.replica is not None:
            out.append(("replica", self.replica))
        return out

    def replica_lag(self) -> tuple[float, int]:
        """(seconds, bytes) the replica's replay is behind, as ``report.replication_lag`` says."""
        with self.replica.connection(timeout=2) as conn:
            row = conn.execute(
                "select replay_delay_seconds, replay_lag_bytes from report.replication_lag"
            ).fetchone()
        return float(row[0] or 0), int(row[1] or 0)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection without a request context (start-up, maintenance jobs)."""
        with self.pool.connection() as conn:
            yield conn

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Within the block, every :meth:`run` on the primary uses one pooled connection, taken
        here once (a request's several transactions: no pool round per transaction). Each run is
        still its own transaction; nested blocks share the outer one's connection."""
        if self._pinned.get() is not None:
            yield
            return
        with self.pool.connection() as conn:
            token = self._pinned.set(self.client.on_connection(conn))
            try:
                yield
            finally:
                self._pinned.reset(token)

    def run(
        self, creds: Credentials | None, work: Callable[[psycopg.Connection], T], *, read_only: bool = False
    ) -> T:
        """``work(conn)`` in one transaction (retried whole on 40001 / 40P01), authenticated first
        when ``creds`` is given. ``read_only``: the work writes nothing, so it may run on the
        replica (in a read-only transaction) when the caller has no write it has not replayed."""

        def unit(conn: psycopg.Connection) -> T:
            if creds is not None:
                authenticate(conn, creds)
            return work(conn)

        caller = creds.token if creds is not None else None
        if read_only and self.replica_client is not None and self.routing.replica_may_serve(caller, self):
            try:
                return self.replica_client.transaction(lambda conn: _read_only(conn, unit))
            except (psycopg.OperationalError, PoolTimeout):
                # the replica is unreachable: the primary answers, and the next reads for a while
                self.routing.replica_failed()
        client = self._pinned.get() or self.client
        if not read_only or self.replica is None:
            answer = client.transaction(unit)
            if self.replica is not None and caller:
                self.routing.wrote(caller, self)
            return answer
        return client.transaction(unit)

    def replay_lsn(self) -> int | None:
        """The WAL position the replica has replayed (None when it does not answer)."""
        try:
            with self.replica.connection(timeout=1) as conn:
                row = conn.execute("select pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()
        except (psycopg.Error, PoolTimeout):
            return None
        return None if row[0] is None else int(row[0])

    def primary_lsn(self) -> int:
        with self.pool.connection() as conn:
            return int(conn.execute("select pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


class ReadRouting:
    """Which caller's reads must stay on the primary: those with a write the replica has not
    replayed yet (read-your-writes). Keyed by the API key's token; entries older than
    ``forget_after`` seconds are dropped (a replica that far behind serves nobody's reads anyway:
    the caller's reads then wait for it on the primary, as for any other caller's write)."""

    def __init__(self, refresh: float = 0.05, forget_after: float = 300.0):
        self.refresh = refresh
        self.forget_after = forget_after
        self._pending: dict[str, tuple[int, float]] = {}
        self._replayed: tuple[int | None, float] = (None, 0.0)
        self._down_until = 0.0  # a replica that failed a read is left alone until then
        self._lock = threading.Lock()

    def wrote(self, caller: str, db: Database) -> None:
        lsn = db.primary_lsn()
        now = time.monotonic()
        with self._lock:
            self._pending[caller] = (lsn, now)
            if len(self._pending) > 10_000:
                cutoff = now - self.forget_after
                self._pending = {k: v for k, v in self._pending.items() if v[1] >= cutoff}

    def replica_failed(self, pause: float = 5.0) -> None:
        self._down_until = time.monotonic() + pause

    def replica_may_serve(self, caller: str | None, db: Database) -> bool:
        if time.monotonic() < self._down_until:
            return False
        with self._lock:
            pending = self._pending.get(caller) if caller else None
        if pending is None:
            return True
        replayed = self._replayed_lsn(db)
        if replayed is not None and replayed >= pending[0]:
            with self._lock:
                if self._pending.get(caller) == pending:
                    del self._pending[caller]
            return True
        return False

    def _replayed_lsn(self, db: Database) -> int | None:
        lsn, at = self._replayed
        if lsn is not None and time.monotonic() - at < self.refresh:
            return lsn
        lsn = db.replay_lsn()
        self._replayed = (lsn, time.monotonic())
        return lsn


def _read_only(conn: psycopg.Connection, unit: Callable[[psycopg.Connection], T]) -> T:
    conn.execute("set transaction read only")
    return unit(conn)


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
            {
                "role": SERVICE_ROLE if creds.service else None,
                "p_token": creds.token,
                "p_systems": list(creds.systems) or None,
                "p_app_user": creds.app_user,
            },
        )
        .fetchone()
    )
    return Principal(row[0], row[1], tuple(row[2] or ()), row[3])


SERVICE_ROLE = "hotelcore_service"
"""The HTTP service's own role: the checkout saga's steps are executable by it (and by
hotelcore_admin, for recovery) only."""

SYSTEM_ROLES = ("hotelcore_member", "hotelcore_pms", "hotelcore_saas", SERVICE_ROLE)
"""The roles the pool login must be a member of (``hotelcore serve`` says so at start-up)."""

# one round trip: authenticate the key and set the request's role (the one statement that is more
# than a call, so it names its arguments itself)
_AUTHENTICATE = (
    "select a.api_key_id, a.system, a.hotel_ids, a.db_role,"
    " pg_catalog.set_config('role', coalesce(%(role)s, a.db_role), true)"
    " from api.authenticate(p_token => %(p_token)s, p_systems => %(p_systems)s, p_app_user => %(p_app_user)s) a"
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
