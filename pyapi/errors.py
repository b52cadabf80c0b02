"""The one error registry: ``api.error_codes`` (SQLSTATE, name, HTTP status, meaning) read once at
start-up into a :class:`Registry`, which the client, the HTTP layer and the checkout share; code
names an error (``registry.is_error(exc, "HOLD_EXPIRED")``), never its SQLSTATE.

:class:`ErrorMap` is the HTTP answer of an error: project errors (class HC) take the registry's
name and HTTP status, DETAIL and HINT go to ``error.details``. A few PostgreSQL classes are mapped here
because they are about transport, not business: conflicts and deadlocks (retry), lock and
statement timeouts and a read-only database (503 with ``retry_after``), bad input that reached
the server (400). Anything else is INTERNAL_ERROR (500) and its text is not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import PoolTimeout


@dataclass(frozen=True)
class ErrorCode:
    sqlstate: str
    name: str
    http_status: int
    meaning: str


class Registry:
    """``api.error_codes`` in memory: by SQLSTATE and by name."""

    def __init__(self, codes: Iterable[ErrorCode]):
        codes = list(codes)
        self.by_sqlstate: dict[str, ErrorCode] = {c.sqlstate: c for c in codes}
        self.by_name: dict[str, ErrorCode] = {c.name: c for c in codes}

    @classmethod
    def load(cls, conn: psycopg.Connection) -> Registry:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute("select sqlstate, name, http_status, meaning from api.error_codes")
            return cls(ErrorCode(**r) for r in cur.fetchall())

    def sqlstate(self, name: str) -> str:
        """The SQLSTATE of the error called ``name`` (KeyError for a name not in the registry)."""
        return self.by_name[name].sqlstate

    def is_error(self, exc: BaseException | None, *names: str) -> bool:
        """Whether ``exc`` is one of the errors called ``names``."""
        sqlstate = getattr(exc, "sqlstate", None)
        return sqlstate is not None and any(self.sqlstate(name) == sqlstate for name in names)


class HotelcoreError(Exception):
    """A documented refusal of the api: SQLSTATE, the seed's name, HTTP status, DETAIL and HINT."""

    def __init__(
        self, sqlstate: str, name: str, http_status: int, detail: str | None = None, hint: str | None = None
    ):
        super().__init__(f"{name} ({sqlstate}): {detail or ''}".rstrip(": "))
        self.sqlstate = sqlstate
        self.name = name
        self.http_status = http_status
        self.detail = detail or None
        self.hint = hint or None


@dataclass
class ApiError(Exception):
    """An answer other than success: the seed's code, the HTTP status and what to tell the caller."""

    code: str
    http_status: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    retry_after_ms: int | None = None
    sqlstate: str | None = None

    def __str__(self) -> str:
        return f"{self.http_status} {self.code}: {self.message}"


@dataclass(frozen=True)
class Code:
    name: str
    http_status: int
    meaning: str


# PostgreSQL's own SQLSTATEs the API can meet, and the registry name each answers with.
# (name, http status, retry after ms)
_POSTGRES = {
    "23P01": ("CONCURRENCY_CONFLICT", 409, 100),  # exclusion_violation: another booking won the rows
    "23505": ("CONCURRENCY_CONFLICT", 409, 100),  # unique_violation not turned into a project code
    "40001": ("CONCURRENCY_CONFLICT", 409, 100),  # serialization_failure after the client's retries
    "40P01": ("CONCURRENCY_CONFLICT", 409, 100),  # deadlock_detected
    "55P03": ("SERVICE_DEGRADED", 503, 1000),  # lock_not_available (lock_timeout)
    "57014": ("SERVICE_DEGRADED", 503, 1000),  # query_canceled (statement_timeout)
    "25006": ("SERVICE_DEGRADED", 503, 5000),  # read_only_sql_transaction: degraded mode
    "42501": ("PERMISSION_DENIED", 403, None),  # insufficient_privilege: the role of the request may not
    "53300": ("SERVICE_DEGRADED", 503, 1000),  # too_many_connections
    "57P03": ("SERVICE_DEGRADED", 503, 5000),  # cannot_connect_now
}

# Fallbacks when the registry cannot be read (it always can after a migration).
_BUILTIN = {
    "INVALID_ARGUMENT": Code(
        "INVALID_ARGUMENT", 400, "A request field is missing, malformed or out of range."
    ),
    "AUTHENTICATION_FAILED": Code("AUTHENTICATION_FAILED", 401, "Unknown or revoked API key."),
    "PERMISSION_DENIED": Code("PERMISSION_DENIED", 403, "The calling system or hotel scope may not do this."),
    "CONCURRENCY_CONFLICT": Code(
        "CONCURRENCY_CONFLICT", 409, "A concurrent transaction won; retry the request."
    ),
    "SERVICE_DEGRADED": Code("SERVICE_DEGRADED", 503, "Writes are paused; reads go on."),
    "NOT_IMPLEMENTED": Code("NOT_IMPLEMENTED", 501, "This endpoint is reserved for a later release."),
    "INTERNAL_ERROR": Code("INTERNAL_ERROR", 500, "An unexpected error; nothing was written."),
}


class ErrorMap:
    """The HTTP answers of errors: the registry's codes, and the transport codes above."""

    def __init__(self, registry: Registry):
        self.registry = registry
        # called when the database says it is read-only (25006): degraded mode listens here
        self.on_read_only: Callable[[], None] | None = None
        self.by_sqlstate: dict[str, ErrorCode] = registry.by_sqlstate
        self.by_name: dict[str, Code | ErrorCode] = {**_BUILTIN, **registry.by_name}

    @classmethod
    def load(cls, conn: psycopg.Connection) -> ErrorMap:
        """An ErrorMap on the registry read from ``conn`` (where no client has read it yet)."""
        return cls(Registry.load(conn))

    def error(
        self,
        name: str,
        *,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after_ms: int | None = None,
        http_status: int | None = None,
    ) -> ApiError:
        code = self.by_name.get(name) or self.by_name["INTERNAL_ERROR"]
        return ApiError(
            code=name,
            http_status=http_status or code.http_status,
            message=message or code.meaning,
            details=details or {},
            retry_after_ms=retry_after_ms,
        )

    def from_db(self, exc: BaseException) -> ApiError:
        """The answer for an exception raised by psycopg or the pool."""
        if isinstance(exc, PoolTimeout):
            return self.error(
                "SERVICE_DEGRADED", message="No database connection was free in time.", retry_after_ms=1000
            )
        sqlstate = getattr(exc, "sqlstate", None)
        diag = getattr(exc, "diag", None)
        details: dict[str, Any] = {}
        if sqlstate:
            details["sqlstate"] = sqlstate
        if diag is not None:
            if diag.message_detail:
                details["detail"] = diag.message_detail
            if diag.message_hint:
                details["hint"] = diag.message_hint
        elif isinstance(exc, HotelcoreError):
            if exc.detail:
                details["detail"] = exc.detail
            if exc.hint:
                details["hint"] = exc.hint
        if sqlstate and sqlstate in self.by_sqlstate:
            code = self.by_sqlstate[sqlstate]
            return ApiError(code.name, code.http_status, code.meaning, details, sqlstate=sqlstate)
        if sqlstate == "25006" and self.on_read_only is not None:
            self.on_read_only()
        if sqlstate in _POSTGRES:
            name, status, retry = _POSTGRES[sqlstate]
            err = self.error(name, details=details, retry_after_ms=retry, http_status=status)
            err.sqlstate = sqlstate
            return err
        if sqlstate and sqlstate[:2] in ("22", "23"):
            # data exception / integrity violation a function let through: the input was wrong
            status = 400 if sqlstate.startswith("22") else 422
            err = self.error("INVALID_ARGUMENT", details=details, http_status=status)
            err.sqlstate = sqlstate
            return err
        if isinstance(exc, psycopg.DataError) and not sqlstate:
            # refused by the driver before reaching the server (e.g. a NUL character in text)
            return self.error("INVALID_ARGUMENT", details={"reason": str(exc).splitlines()[0][:200]})
        if isinstance(exc, psycopg.OperationalError) or (sqlstate or "").startswith("08"):
            return self.error("SERVICE_DEGRADED", message="The database did not answer.", retry_after_ms=1000)
        return self.error("INTERNAL_ERROR", details={"sqlstate": sqlstate} if sqlstate else {})
