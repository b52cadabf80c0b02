"""One home per rule: a formula written twice is a defect (STYLE.md). These tests fail when the
sellable count of a night or the price ladder is spelled outside its one function, and when the
planner stops inlining those functions (a call per row would make the searches slower)."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

DB_DIR = Path(__file__).resolve().parent.parent / "db"

# the sellable count's terms: any two of them in one sum, difference or comparison spell (part of)
# the formula, except capacity - blocked, the rooms on sale the occupancy reports divide by
SELLABLE_TERMS = {"capacity", "overbooking_allowance", "blocked", "held", "booked"}
ROOMS_ON_SALE = {"capacity", "blocked"}
# the one definition, and released versioned text that cannot change any more: the table's first
# check inventory_booked_within_capacity, which schema/reservation--sellable-check.sql replaces by
# core.inventory_sellable(inventory) >= 0 (its down section restores it), and
# core.inventory_exception_flags' first body, replaced by schema/reservation--sellable-rooms.sql
# (whose down section restores it)
SELLABLE_ALLOWED = {
    "schema/reservation--sellable-rooms.sql": 2,  # the definition (up) and the restored flags (down)
    "schema/reservation.sql": 1,
    "schema/reservation--search-calendar.sql": 1,
    "schema/reservation--sellable-check.sql": 1,  # the released check, restored by its down section
}

_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_TERM = r"[a-z_][a-z_0-9]*(?:\.[a-z_][a-z_0-9]*)?"
_CHAIN = re.compile(rf"{_TERM}(?:\s*[-+<>=]+\s*(?:\d+\s*[-+]\s*)?{_TERM})+", re.I)


def _code(text: str) -> str:
    """SQL without comments and string literals (comments may name the formula; code may not)."""
    return _STRING.sub("''", _COMMENT.sub("", text))


def _sellable_spellings(text: str) -> list[str]:
    found = []
    for m in _CHAIN.finditer(_code(text)):
        terms = {t.split(".")[-1].lower() for t in re.findall(_TERM, m.group(0))}
        if len(terms & SELLABLE_TERMS) >= 2 and terms & SELLABLE_TERMS != ROOMS_ON_SALE:
            found.append(m.group(0))
    return found


def test_the_detector_finds_the_formula_in_its_shapes():
    """The scan below cannot pass by finding nothing: it sees the shapes the formula had."""
    for shape in [
        "i.capacity + i.overbooking_allowance - i.blocked - i.booked - i.held < p_rooms",
        "i.blocked + i.held + i.booked > i.capacity - 1 + i.overbooking_allowance",
        "capacity + overbooking_allowance",
    ]:
        assert _sellable_spellings(shape), shape
    assert not _sellable_spellings("core.inventory_sellable(i) + i.held - coalesce(h.live_held, 0)")
    assert not _sellable_spellings("-- capacity + overbooking_allowance - blocked\nselect 1")
    assert not _sellable_spellings("sum(i.capacity - i.blocked)")


def test_the_sellable_count_is_spelled_only_in_core_inventory_sellable():
    spelled = {}
    for path in sorted(DB_DIR.rglob("*.sql")):
        rel = path.relative_to(DB_DIR).as_posix()
        hits = _sellable_spellings(path.read_text())
        if len(hits) != SELLABLE_ALLOWED.get(rel, 0):
            spelled[rel] = hits
    assert spelled == {}, "ask core.inventory_sellable(i) instead of spelling the formula"


def test_no_installed_function_or_view_spells_the_sellable_count(db):
    """The installed catalog, whatever file wrote it: function bodies and view definitions."""
    bodies = db.execute(
        """
        select p.oid::regprocedure::text, pg_get_functiondef(p.oid)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('api', 'internal', 'report', 'core') and p.prokind in ('f', 'p')
          and p.oid <> 'core.inventory_sellable(core.inventory)'::regprocedure
        union all
        select c.oid::regclass::text, pg_get_viewdef(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('api', 'internal', 'report', 'core') and c.relkind in ('v', 'm')"""
    ).fetchall()
    assert len(bodies) > 100
    assert {name for name, body in bodies if _sellable_spellings(body)} == set()


def _plan(db: psycopg.Connection, sql: str) -> str:
    return "\n".join(r[0] for r in db.execute("explain (verbose, costs off) " + sql).fetchall())


def test_the_rule_functions_are_inlined_by_the_planner(db):
    """Inlined, they cost nothing per row: the plan shows their expressions, not a call."""
    plan = _plan(db, "select core.inventory_sellable(i) from core.inventory i")
    assert "inventory_sellable" not in plan and "overbooking_allowance" in plan
    plan = _plan(db, "select internal.nightly_price(i.rack_rate, 1.1, 500, 0) from core.inventory i")
    assert "nightly_price" not in plan and "rack_rate" in plan
    plan = _plan(
        db,
        "select p.total from core.inventory i"
        " cross join lateral internal.price_stay(i.rack_rate, 0.1, 0.05, false, 0.1, 0) p",
    )
    assert "price_stay" not in plan and "Function Scan" not in plan


def test_the_price_ladder(db):
    """Length-of-stay discount, member discount on the rest, tax added or extracted, each rounded."""
    added = db.execute("select * from internal.price_stay(10000, 0.10, 0.05, false, 0.10, 0)").fetchone()
    assert added == (1000, 450, 855, 9405)
    included = db.execute("select * from internal.price_stay(10000, 0.10, 0.05, true, 0.10, 0)").fetchone()
    assert included == (1000, 450, 777, 8550)
    assert db.execute("select internal.nightly_price(12345.678, 1.1, 100, 0)").fetchone()[0] == 13680


def test_the_price_ladder_without_a_member_discount(db):
    """With no member discount the net amount skips that step: the same value and scale as the whole
    ladder with a zero member discount, for every subtotal, rate, tax mode and currency scale."""
    differ = db.execute(
        """
        select count(*) filter (where p.total::text is distinct from (case when added then net + round(net * t, mu)
                                                                           else net end)::text),
               count(*)
        from unnest(array[0, 0.01, 3, 100, 100.5, 12345.67, 12345.675, 999999.99]::numeric[]) s,
             unnest(array[0, 0.0000, 0.05, 0.125, 0.5, 0.9999]::numeric[]) l,
             unnest(array[false, true]) added,
             unnest(array[0, 0.07, 0.1925]::numeric[]) t,
             unnest(array[0, 2, 3]) mu
        cross join lateral (select s - round(s * l, mu) - round((s - round(s * l, mu)) * 0, mu) as net) n
        cross join lateral internal.price_stay(s, l, 0, not added, t, mu) p
        """
    ).fetchone()
    assert differ == (0, 8 * 6 * 2 * 3 * 3)


# --------------------------------------------------------------------------- canonical stays

# a row each table accepts but for its stay (its foreign keys are checked after its checks)
_STAY_ROWS = {
    "reservations": "(hotel_id, customer_id, stay, currency, total_amount) values (-1, -1, %s, 'KRW', 0)",
    "reservation_rooms": "(reservation_id, hotel_id, room_type_id, rate_plan_id, stay, adults, amount, nightly)"
    " values (-1, -1, -1, -1, %s, 1, 0, '{}')",
    "hold_lines": "(hold_id, hotel_id, room_type_id, rate_plan_id, stay, adults, amount, nightly)"
    " values (-1, -1, -1, -1, %s, 1, 0, '{}')",
    "waitlist_entries": "(hotel_id, room_type_id, rate_plan_id, customer_id, stay, adults, created_at, expires_at)"
    " values (-1, -1, -1, -1, %s, 1, now(), now() + interval '1 hour')",
    "checkout_sagas": "(hotel_id, room_type_id, rate_plan_id, stay, rooms, adults, children, origin, request,"
    " currency, amount, created_at, updated_at) values (-1, -1, -1, %s, 1, 1, 0, 'direct', '{}', 'KRW', 0, now(), now())",
}
_NOT_CANONICAL = ["empty", "(,2027-03-02)", "[2027-03-01,)", "(,)"]


def test_a_stay_is_canonical_is_one_function_called_by_every_stay_check(db):
    checks = dict(
        db.execute(
            """select c.conname, pg_get_constraintdef(c.oid) from pg_constraint c
               join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
               where n.nspname = 'core' and c.contype = 'c' and c.conname like '%stay_is_canonical'"""
        ).fetchall()
    )
    assert checks == {f"{t}_stay_is_canonical": "CHECK (core.nights_are_canonical(stay))" for t in _STAY_ROWS}
    assert (
        db.execute(
            "select provolatile from pg_proc where oid = 'core.nights_are_canonical(daterange)'::regprocedure"
        ).fetchone()[0]
        == "i"
    )
    answers = db.execute(
        "select s, core.nights_are_canonical(s::daterange) from unnest(%s::text[]) s",
        [["[2027-03-01,2027-03-02)", "[2027-03-01,2027-03-05]", *_NOT_CANONICAL]],
    ).fetchall()
    assert answers == [("[2027-03-01,2027-03-02)", True), ("[2027-03-01,2027-03-05]", True)] + [
        (s, False) for s in _NOT_CANONICAL
    ]


@pytest.mark.parametrize("table", list(_STAY_ROWS))
def test_every_stay_column_refuses_a_stay_that_is_not_canonical(db, table):
    # a canonical stay passes every check: only the foreign keys (checked last) refuse the row
    with pytest.raises(psycopg.errors.ForeignKeyViolation), db.transaction(force_rollback=True):
        db.execute(f"insert into core.{table} " + _STAY_ROWS[table] % "'[2027-03-01,2027-03-02)'::daterange")
    for stay in _NOT_CANONICAL:
        with pytest.raises(psycopg.errors.CheckViolation) as refused, db.transaction(force_rollback=True):
            db.execute(f"insert into core.{table} " + _STAY_ROWS[table] % "%s::daterange", [stay])
        assert refused.value.diag.constraint_name == f"{table}_stay_is_canonical", stay


# --------------------------------------------------------------------------- check formulas

# each rule a check states, its one function, and the checks that call it (each kept its name)
CHECK_RULES = {
    "core.nights_are_canonical": {f"{t}_stay_is_canonical" for t in _STAY_ROWS}
    | {
        "seasons_during_is_canonical",
        "room_blocks_nights_is_canonical",
        "room_assignments_nights_is_canonical",
    },
    "core.guests_are_valid": {"hold_lines_guests", "reservation_rooms_guests", "waitlist_entries_guests"},
    "core.mirror_source_is_known": {
        f"pms_{t}_source" for t in ("room_types", "rate_plans", "inventory", "rates", "reservations")
    },
    "core.fee_kind_is_known": {
        "cancellation_policies_late_fee_kind",
        "cancellation_policies_no_show_fee_kind",
    },
    "core.fee_percent_fits": {
        "cancellation_policies_late_percent_when_percent",
        "cancellation_policies_no_show_percent_when_percent",
    },
    "core.currency_code_is_iso": {
        "currencies_code_is_iso",
        "points_earn_rates_currency_shape",
        "conflict_escalation_amounts_currency_is_iso",
    },
}
# what the formulas looked like when each check spelled its own (as pg_get_constraintdef shows
# them); the one exception: a facility booking's period is a time range, which a function with a
# standard body cannot take along with the nights (it cannot be polymorphic)
SPELLED = {
    "isempty(": {"facility_bookings_period_is_canonical"},
    "(adults >= 1)": set(),
    "'booking'::text": set(),
    "'first_night'::text": set(),
    "'^[A-Z]{3}$'": set(),
}


def test_each_check_formula_has_one_function_and_no_check_spells_it(db):
    checks = db.execute(
        """select c.conname, pg_get_constraintdef(c.oid) from pg_constraint c
           where c.connamespace = 'core'::regnamespace and c.contype = 'c'"""
    ).fetchall()
    for function, names in CHECK_RULES.items():
        calling = {n for n, d in checks if f"{function}(" in d}
        assert calling == names, function
        assert all(d.startswith(f"CHECK ({function}(") for n, d in checks if n in names), function
        volatility = db.execute(
            "select p.provolatile from pg_proc p where p.oid = to_regproc(%s)", [function]
        ).fetchone()
        assert volatility == ("i",), function
    assert {text: {n for n, d in checks if text in d} for text in SPELLED} == SPELLED


def test_the_check_functions_are_prepared_once_per_session(db):
    """A table's checks are prepared again by every write statement: an inlined SQL function would be
    read back from its stored body each time, so the check functions are PL/pgSQL (their expression
    prepared once per session), immutable, with a pinned search_path."""
    functions = sorted(CHECK_RULES)
    rows = db.execute(
        """select p.oid::regprocedure::text, l.lanname, p.provolatile, p.proconfig
           from pg_proc p join pg_language l on l.oid = p.prolang
           where p.oid = any(%s::regproc[])""",
        [functions],
    ).fetchall()
    assert len(rows) == len(functions)
    for name, language, volatility, config in rows:
        assert (language, volatility) == ("plpgsql", "i"), name
        assert config == ["search_path=pg_catalog, pg_temp"], name


def test_the_check_functions_answer_as_the_formulas_did(db):
    assert db.execute(
        "select core.guests_are_valid(1, 0), core.guests_are_valid(0, 2), core.guests_are_valid(2, -1)"
    ).fetchone() == (True, False, False)
    assert db.execute(
        "select core.mirror_source_is_known('webhook'), core.mirror_source_is_known('vendor')"
    ).fetchone() == (True, False)
    assert db.execute(
        """select core.fee_kind_is_known('full'), core.fee_kind_is_known('half'),
                  core.fee_percent_fits('percent', 50), core.fee_percent_fits('percent', null),
                  core.fee_percent_fits('percent', 101), core.fee_percent_fits('full', 10),
                  core.fee_percent_fits('full', null)"""
    ).fetchone() == (True, False, True, False, False, False, True)
    assert db.execute(
        "select core.currency_code_is_iso('KRW'), core.currency_code_is_iso('krw'), core.currency_code_is_iso('KR')"
    ).fetchone() == (True, False, False)
