"""Cross-hotel access: a login limited to hotel A (core.login_hotels) holding every right
(hotelcore_admin) tries every api function that takes a hotel-scoped id with hotel B's ids, one id
at a time (the others stay A's). Each attempt must answer exactly as it does for an id that does
not exist at all (the same SQLSTATE, mostly a NOT_FOUND code; or the same empty answer), and never
with B's data: the caller learns nothing about hotel B, not even that the id is taken."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.support.errors import error_name, raises_code
from tests.support.rights import SCOPED_IDS, World, functions, invoke, plausible

GHOST = 9_000_000_000  # an id no table holds


def outcome(conn: psycopg.Connection, fn, args: dict) -> tuple[str, str]:
    """(SQLSTATE or 'ok', the answer as text); rolled back."""
    try:
        return "ok", json.dumps(invoke(conn, fn, args), default=str)
    except psycopg.Error as exc:
        return exc.sqlstate or "?", ""
    finally:
        conn.rollback()


@pytest.fixture
def scoped_admin(db: psycopg.Connection, world: World, logins, connect_as) -> psycopg.Connection:
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["admin"], world.a.id)
    )
    return connect_as("admin")


def b_markers(db: psycopg.Connection, world: World) -> set[str]:
    """Strings that only hotel B's data carries: its code, its confirmation codes, its room numbers."""
    codes = {
        r[0]
        for r in db.execute(
            "select confirmation_code from core.reservations where hotel_id = %s", (world.b.id,)
        ).fetchall()
    }
    return codes | {"Hotel B", "B-1", "B-2", "B-3"}


def test_no_function_reaches_another_hotels_object(
    db: psycopg.Connection, world: World, scoped_admin
) -> None:
    targets = [f for f in functions(db, "n.nspname = 'api'") if any(n in SCOPED_IDS for n, _ in f.params)]
    assert len(targets) > 40
    markers = b_markers(db, world)
    leaks, tried, not_found = [], 0, 0
    for fn in targets:
        for param, _ in fn.params:
            if param not in SCOPED_IDS:
                continue
            args = plausible(fn, world, world.a)
            ghost = [GHOST] if param == "p_hotel_ids" else GHOST
            theirs = outcome(scoped_admin, fn, args | {param: SCOPED_IDS[param](world, world.b)})
            nobody = outcome(scoped_admin, fn, args | {param: ghost})
            tried += 1
            not_found += error_name(theirs[0]).endswith("_NOT_FOUND")
            if theirs[0] != nobody[0] or any(m in theirs[1] for m in markers):
                leaks.append(
                    f"{fn.signature} {param}: hotel B's id gives {theirs[0]} {theirs[1][:120]},"
                    f" an unknown id {nobody[0]}"
                )
    assert tried > 60
    assert not_found > 50  # most attempts are refused as NOT_FOUND, the rest as for any unknown id
    assert leaks == [], "\n".join(leaks)


def test_guessing_a_reservation_id_reads_as_not_found(
    db: psycopg.Connection, world: World, scoped_admin
) -> None:
    mine = scoped_admin.execute("select api.get_reservation(%s)", (world.arriving[world.a.id],)).fetchone()[0]
    assert mine["hotel_id"] == world.a.id
    scoped_admin.rollback()
    with raises_code("RESERVATION_NOT_FOUND"):
        scoped_admin.execute("select api.get_reservation(%s)", (world.arriving[world.b.id],))
    scoped_admin.rollback()


def test_views_show_only_the_scope(db: psycopg.Connection, world: World, scoped_admin) -> None:
    for view in (
        "api.inventory_calendar",
        "api.folio_balances",
        "report.occupancy_daily",
        "report.revenue_daily_in_scope",
        "report.cancellations_monthly",
    ):
        hotels = {r[0] for r in scoped_admin.execute(f"select distinct hotel_id from {view}").fetchall()}
        assert hotels <= {world.a.id}, view
    assert {r[0] for r in db.execute("select distinct hotel_id from api.inventory_calendar").fetchall()} == {
        world.a.id,
        world.b.id,
    }
    scoped_admin.rollback()


def test_a_spoofed_request_scope_only_narrows(db: psycopg.Connection, world: World, scoped_admin) -> None:
    scoped_admin.execute(
        "select set_config('hotelcore.system', 'pms', true), set_config('hotelcore.hotel_ids', %s, true)",
        (f"{world.a.id},{world.b.id}",),
    )
    hotels = {
        r[0] for r in scoped_admin.execute("select distinct hotel_id from api.inventory_calendar").fetchall()
    }
    assert hotels == {world.a.id}
    scoped_admin.rollback()


def test_a_hold_client_key_used_in_another_hotel_is_a_new_key_here(
    db: psycopg.Connection, world: World, scoped_admin
) -> None:
    """Client keys are unique per hotel: hotel B's key is free in hotel A, a repeat in A answers with
    A's hold, and nothing about B's hold shows (before, the chain-wide unique key made the insert
    fail)."""

    def hold(conn, h, key):
        (row,) = conn.execute(
            """select * from api.create_hold(%s, %s, %s, %s, %s, p_client_key => %s)""",
            (h.id, h.room_type, h.rate_plan, h.day(20), h.day(22), key),
        ).fetchall()
        conn.commit()
        return row

    theirs = hold(db, world.b, "same-key")
    mine = hold(scoped_admin, world.a, "same-key")
    assert mine[0] != theirs[0]
    assert hold(scoped_admin, world.a, "same-key") == mine
    assert db.execute(
        "select array_agg(hotel_id order by hotel_id) from core.holds where client_key = 'same-key'"
    ).fetchone()[0] == sorted([world.a.id, world.b.id])
