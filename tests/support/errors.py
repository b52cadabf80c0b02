"""Errors by name. The registry is db/functions/errors.sql (the rows of core.error_codes); a test
says which error it expects by the registry's name, never by the SQLSTATE behind it:

    with raises_code("HOLD_EXPIRED"):
        call(db, "confirm_booking", ...)

The names are read from that file once, without a database, so that a module-level constant may
use them too (the registry's own test checks the file against the database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

REGISTRY = Path(__file__).resolve().parents[2] / "db" / "functions" / "errors.sql"
_ROW = re.compile(r"^\s*\('(?P<sqlstate>[A-Z0-9]{5})',\s*'(?P<name>[A-Z_]+)'", re.MULTILINE)

SQLSTATES: dict[str, str] = {m["name"]: m["sqlstate"] for m in _ROW.finditer(REGISTRY.read_text())}
NAMES: dict[str, str] = {v: k for k, v in SQLSTATES.items()}
assert SQLSTATES, f"no error code read from {REGISTRY}"

# PostgreSQL's own refusal when a role holds no EXECUTE (or no SELECT): insufficient_privilege.
INSUFFICIENT_PRIVILEGE = psycopg.errors.InsufficientPrivilege.sqlstate


def sqlstate(name: str) -> str:
    """The registry's SQLSTATE of the error ``name``."""
    try:
        return SQLSTATES[name]
    except KeyError:
        raise AssertionError(f"{name} is not a registered error (db/functions/errors.sql)") from None


def error_name(error: BaseException | str | None) -> str | None:
    """The registry's name of an error (or of a SQLSTATE); another SQLSTATE is returned as it is."""
    state = error if error is None or isinstance(error, str) else getattr(error, "sqlstate", None)
    return NAMES.get(state, state)


# A refusal for want of a right: the function's own check, or PostgreSQL's when the role holds no EXECUTE.
DENIED = {sqlstate("PERMISSION_DENIED"), INSUFFICIENT_PRIVILEGE}


@contextmanager
def raises_code(*names: str) -> Iterator[pytest.ExceptionInfo]:
    """The block must fail with a psycopg error whose SQLSTATE is the registry's code of ``names``
    (one of them when several are given). Yields pytest's ExceptionInfo."""
    expected = {sqlstate(n) for n in names}
    with pytest.raises(psycopg.Error) as excinfo:
        yield excinfo
    got = excinfo.value.sqlstate
    assert got in expected, f"expected {' or '.join(names)}, got {error_name(got)} ({got}): {excinfo.value}"
