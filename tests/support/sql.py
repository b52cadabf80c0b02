"""Calling the api the way a client does: every argument bound by parameter name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import psycopg.rows


def call(db: psycopg.Connection, function: str, **params: Any) -> list[dict[str, Any]]:
    """``select * from api.<function>(p_x => ...)``; the rows as dicts (a scalar function: one key).
    A float argument is bound as a numeric (its decimal text), never as a double."""
    params = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in params.items()}
    names = ", ".join(f"{k} => %({k})s" for k in params)
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(f"select * from api.{function}({names})", params).fetchall()


def scalar(db: psycopg.Connection, function: str, **params: Any) -> Any:
    """The first column of the first row of ``api.<function>(...)``."""
    return next(iter(call(db, function, **params)[0].values()))


def one(db: psycopg.Connection, query: str, *args: Any) -> Any:
    """The first column of the first row of ``query``; None when there is no row."""
    row = db.execute(query, args).fetchone()
    return None if row is None else row[0]


def rows(db: psycopg.Connection, query: str, params: Any = ()) -> list[dict[str, Any]]:
    """Every row of ``query`` as a dict."""
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(query, params).fetchall()
