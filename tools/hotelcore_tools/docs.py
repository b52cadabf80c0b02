"""README sections generated from the database itself, so the README stays true.

``hotelcore docs`` rewrites the parts of README.md between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` markers; ``tests/test_docs.py`` fails when they are out of date.
"""

from __future__ import annotations

import re

import psycopg

from pyapi.config import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def error_table(conn: psycopg.Connection) -> str:
    lines = ["| SQLSTATE | name | HTTP | meaning |", "|---|---|---|---|"]
    for sqlstate, name, status, meaning in conn.execute(
        "select sqlstate, name, http_status, meaning from api.error_codes order by sqlstate"
    ):
        lines.append(f"| `{sqlstate}` | `{name}` | {status} | {_cell(meaning)} |")
    return "\n".join(lines)


def function_table(conn: psycopg.Connection) -> str:
    lines = ["| function | what it does |", "|---|---|"]
    for signature, comment in conn.execute(
        """select p.proname || '(' || pg_get_function_arguments(p.oid) || ')', obj_description(p.oid, 'pg_proc')
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname = 'api' order by p.proname, 1"""
    ):
        lines.append(f"| `api.{_cell(signature)}` | {_cell(comment)} |")
    return "\n".join(lines)


def view_table(conn: psycopg.Connection) -> str:
    lines = ["| view | kind | what it shows |", "|---|---|---|"]
    for schema, name, kind, comment in conn.execute(
        """select n.nspname, c.relname, case c.relkind when 'm' then 'materialized' else 'view' end,
                  obj_description(c.oid, 'pg_class')
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname in ('api', 'report') and c.relkind in ('v', 'm') order by 1, 2"""
    ):
        lines.append(f"| `{schema}.{name}` | {kind} | {_cell(comment)} |")
    return "\n".join(lines)


SECTIONS = {"errors": error_table, "functions": function_table, "views": view_table}


def render(url: str, text: str) -> str:
    with psycopg.connect(url) as conn:
        for name, fn in SECTIONS.items():
            pattern = re.compile(rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
            body = fn(conn)
            text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def write(url: str) -> bool:
    """Rewrite README.md; True when something changed."""
    old = README.read_text()
    new = render(url, old)
    if new != old:
        README.write_text(new)
    return new != old
