"""Injection: quote, semicolon, comment and Unicode payloads through every text parameter of every
api function. Nothing they carry may execute: a canary function that would raise XC666 if called
never is, the canary table stays, and no call fails with a syntax or name error (class 42), which
is what an injected fragment breaking a dynamic statement looks like. Each call runs as the owner
(every right, so the bodies run to their end) in a transaction rolled back afterwards."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.rights import World, build_world, functions, invoke, plausible

PAYLOADS = [
    "'",
    "''",
    "x'; drop table public.canary; --",
    'x"; drop table public.canary; --',
    "x' || public.canary_trip() || '",
    "'); select public.canary_trip(); --",
    "1; delete from public.canary",
    "$$; select public.canary_trip(); $$",
    "/* comment */ -- trailing comment",
    "%I %L %s %%",
    "\\'; select public.canary_trip(); --",
    "Ｏ＇Ｒ ’ ʼ ＇ ； －－ ホテル 名前 🏨",
    "e\u0301\u200b\u202e'--",
]


@pytest.fixture
def armed(db: psycopg.Connection) -> World:
    db.execute("create table public.canary (n integer)")
    db.execute("insert into public.canary values (1)")
    db.execute(
        "create function public.canary_trip() returns text language plpgsql as $$"
        " begin raise exception using errcode = 'XC666', message = 'injected code ran'; end $$"
    )
    return build_world(db)


def test_no_payload_executes_through_any_text_parameter(db: psycopg.Connection, armed: World) -> None:
    targets = [f for f in functions(db, "n.nspname = 'api'") if f.text_params]
    assert len(targets) > 40
    db.autocommit = False
    calls = 0
    outcomes: dict[str, int] = {}
    for fn in targets:
        for param in fn.text_params:
            for payload in PAYLOADS:
                args = plausible(fn, armed, armed.a) | {param: payload}
                try:
                    invoke(db, fn, args)
                    outcome = "ok"
                except psycopg.Error as exc:
                    outcome = exc.sqlstate or "?"
                    assert outcome != "XC666", f"{fn.signature} {param}={payload!r}: the payload ran"
                    assert not outcome.startswith("42"), (
                        f"{fn.signature} {param}={payload!r}: {outcome} {exc}"
                    )
                    assert outcome[:2] in ("HC", "22", "23"), (
                        f"{fn.signature} {param}={payload!r}: {outcome} {exc}"
                    )
                finally:
                    db.rollback()
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                calls += 1
    db.autocommit = True
    assert calls > 500
    assert db.execute("select count(*) from public.canary").fetchone()[0] == 1
    assert "ok" in outcomes, outcomes  # payloads were taken as plain data, not all refused


def test_a_payload_is_stored_as_written(db: psycopg.Connection) -> None:
    name = "O'Brien; drop table core.customers; -- 🏨"
    doc = db.execute("select api.create_customer(%s, %s)", (name, "x' or '1'='1")).fetchone()[0]
    again = db.execute("select api.get_customer(%s)", (doc["id"],)).fetchone()[0]
    assert (again["given_name"], again["family_name"]) == (name, "x' or '1'='1")
    assert db.execute("select to_regclass('core.customers') is not null").fetchone()[0]
