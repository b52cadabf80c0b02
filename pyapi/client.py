"""The thin Python client of the SQL api.

``Client.call("create_hold", p_hotel_id=1, ...)`` runs ``select * from api.create_hold(p_hotel_id
=> %(p_hotel_id)s, ...)`` with bound parameters in one transaction and returns the rows as dicts.
:func:`bind` is the one way hotelcore calls an ``api`` function: every caller (this client, the
HTTP routes, the checkout saga, the PMS connector, the dispatcher, the tools) names each argument,
so no call restates a signature position by position. Every rule lives in PostgreSQL; this
module only:

* retries the WHOLE transaction on a serialization failure (40001) or a deadlock (40P01) a
  bounded number of times with a small exponential backoff (tenacity); what is left after the
  retries is reported as CONCURRENCY_CONFLICT, never as an internal error;
* maps hotelcore SQLSTATEs (class HC) to :class:`HotelcoreError`, using the registry
  ``api.error_codes`` read once at start-up (:class:`pyapi.errors.Registry`; no table of codes
  is kept in Python).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .errors import ErrorCode, HotelcoreError, Registry

__all__ = ["APP_USER", "Client", "HotelcoreError", "bind", "connect_client", "is_retryable"]

T = TypeVar("T")

# The request's application user, as an argument (the pool sets it per request).
APP_USER = sql.SQL("current_setting('hotelcore.app_user', true)")


@functools.lru_cache(maxsize=1024)
def _statement(function: str, args: tuple[tuple[str, str | None], ...], columns: tuple[str, ...]) -> bytes:
    """The statement of a call, composed once per shape (function, argument names, SQL values)."""
    return (
        sql.SQL("select {} from api.{}({})")
        .format(
            sql.SQL(", ").join(map(sql.Identifier, columns)) if columns else sql.SQL("*"),
            sql.Identifier(function),
            sql.SQL(", ").join(
                sql.SQL("{} => {}").format(
                    sql.Identifier(name), sql.Placeholder(name) if raw is None else sql.SQL(raw)
                )
                for name, raw in args
            ),
        )
        .as_bytes(None)
    )


def bind(function: str, /, *, columns: Sequence[str] = (), **params: Any) -> tuple[bytes, dict[str, Any]]:
    """``select * from api.<function>(p_x => %(p_x)s, ...)`` and its parameters: the one binder.

    Arguments are named (``p_hotel_id=1``); a value that is SQL (a :mod:`psycopg.sql` object such
    as :data:`APP_USER`, which may use another argument's placeholder) is written in place; Python
    floats are sent as numeric (the api takes money and rates as numeric). ``columns`` selects some of a table function's columns, in that
    order. Use it as ``conn.execute(*bind("get_checkout", p_checkout_id=7))``."""
    args = tuple(
        (name, value.as_string(None) if isinstance(value, sql.Composable) else None)
        for name, value in params.items()
    )
    values = {
        name: Decimal(str(value)) if isinstance(value, float) else value
        for name, value in params.items()
        if not isinstance(value, sql.Composable)
    }
    return _statement(function, args, tuple(columns)), values


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
CONFLICT_NAME = "CONCURRENCY_CONFLICT"


def is_retryable(exc: BaseException) -> bool:
    """A conflict (40001, 40P01) on which the whole transaction is retried."""
    return isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None) in RETRYABLE_SQLSTATES


class Client:
    """Calls ``api.*`` functions through a psycopg connection pool (or a single connection factory)."""

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        pool: ConnectionPool | None = None,
        connect: Callable[[], AbstractContextManager[psycopg.Connection]] | None = None,
        min_size: int = 1,
        max_size: int = 8,
        attempts: int = 5,
        backoff_initial: float = 0.005,
        backoff_max: float = 0.2,
    ):
        if pool is None and connect is None:
            if conninfo is None:
                raise ValueError("pass conninfo, pool or connect")
            pool = ConnectionPool(conninfo, min_size=min_size, max_size=max_size, open=True)
            self._owns_pool = True
        else:
            self._owns_pool = False
        self._pool = pool
        self._connect = connect or pool.connection  # type: ignore[union-attr]
        self.attempts = attempts
        self._wait = wait_exponential(multiplier=backoff_initial, max=backoff_max) + wait_random(
            0, backoff_initial
        )
        self.registry = Registry([])
        self.load_error_codes()

    @classmethod
    def for_connection(cls, conn: psycopg.Connection, **kwargs: Any) -> Client:
        """A client that runs every transaction on one existing connection (tests, scripts)."""
        return cls(connect=lambda: nullcontext(conn), **kwargs)

    def on_pool(self, pool: ConnectionPool) -> Client:
        """The same client (error registry, retries) running its transactions on another pool,
        e.g. a read replica's; reads no registry from it, so it may be down when made."""
        other = copy.copy(self)
        other._pool, other._connect, other._owns_pool = pool, pool.connection, False
        return other

    def on_connection(self, conn: psycopg.Connection) -> Client:
        """The same client running every transaction on ``conn`` (one caller's run of several
        transactions on the connection it took once)."""
        other = copy.copy(self)
        other._pool, other._owns_pool = None, False
        other._connect = lambda: nullcontext(conn)
        return other

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._owns_pool and self._pool is not None:
            self._pool.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_error_codes(self) -> None:
        """Reads the registry api.error_codes (called at start-up)."""
        with self._connect() as conn:
            self.registry = Registry.load(conn)
            conn.rollback()

    # ------------------------------------------------------------------ errors

    @property
    def codes(self) -> dict[str, ErrorCode]:
        """The registry by SQLSTATE."""
        return self.registry.by_sqlstate

    def _code_named(self, name: str) -> ErrorCode:
        return self.registry.by_name[name]

    def map_error(self, exc: psycopg.Error) -> Exception:
        """A HotelcoreError for a registered SQLSTATE; other errors are returned unchanged."""
        sqlstate = getattr(exc, "sqlstate", None)
        diag = exc.diag
        if sqlstate in self.registry.by_sqlstate:
            code = self.registry.by_sqlstate[sqlstate]
            return HotelcoreError(
                code.sqlstate, code.name, code.http_status, diag.message_detail, diag.message_hint
            )
        if sqlstate in RETRYABLE_SQLSTATES:
            return self.conflict(diag.message_primary)
        return exc

    def conflict(self, detail: str | None) -> HotelcoreError:
        code = self._code_named(CONFLICT_NAME)
        return HotelcoreError(
            code.sqlstate,
            code.name,
            code.http_status,
            detail,
            "a concurrent transaction won the same rows; retry the request",
        )

    # ------------------------------------------------------------------ transactions

    def transaction(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Runs ``work(conn)`` in one transaction, retrying it whole on 40001 / 40P01."""
        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    with self._connect() as conn:
                        with conn.transaction():
                            return work(conn)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            detail = getattr(getattr(last, "diag", None), "message_primary", None) or str(last)
            raise self.conflict(f"still conflicting after {self.attempts} attempts: {detail}") from last
        except psycopg.Error as exc:
            mapped = self.map_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, function: str, /, **params: Any) -> list[dict[str, Any]]:
        """``select * from api.<function>(p_x => %(p_x)s, ...)`` in one retried transaction; rows as dicts.

        Python floats are sent as numeric (the api takes money and rates as numeric)."""
        query, params = bind(function, **params)

        def work(conn: psycopg.Connection) -> list[dict[str, Any]]:
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else []

        return self.transaction(work)

    def one(self, function: str, /, **params: Any) -> dict[str, Any] | None:
        """The first row of :meth:`call` (or None)."""
        rows = self.call(function, **params)
        return rows[0] if rows else None

    def value(self, function: str, /, **params: Any) -> Any:
        """The single value a scalar api function returns."""
        row = self.one(function, **params)
        return None if row is None else next(iter(row.values()))


def connect_client(conninfo: str, **kwargs: Any) -> Client:
    """A client on its own pool for ``conninfo``."""
    return Client(conninfo, **kwargs)
