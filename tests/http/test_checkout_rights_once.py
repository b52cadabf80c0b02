"""The saga's one-call steps check the caller's rights once per call: api.checkout_start and
api.checkout_confirm_authorised check the service and the right themselves, then run the steps'
internal bodies, which check nothing again. Counted with the transaction's own function
statistics (pg_stat_xact_user_functions), never timed."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

START = (
    "select saga_id, attempt, held, refused_step from api.checkout_start("
    "null, null, %s, %s, %s, %s, %s, 1, 2, 0, %s, 'KRW', %s)"
)
CHECKS = ("require_service", "require_right")


def _checks(db: psycopg.Connection) -> dict[str, int]:
    rows = db.execute(
        "select funcname, calls from pg_catalog.pg_stat_xact_user_functions"
        " where schemaname = 'internal' and funcname = any(%s)",
        [list(CHECKS)],
    ).fetchall()
    counted = dict(rows)
    return {name: counted.get(name, 0) for name in CHECKS}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in CHECKS}


def test_each_one_call_step_checks_the_rights_once(world, db):
    db.autocommit = False
    db.execute("set local track_functions = 'all'")
    hotel = world.a
    check_in, check_out = hotel.stay(4, 2)

    before = _checks(db)
    saga_id, attempt, held, refused = db.execute(
        START,
        [
            hotel.id,
            hotel.room_type,
            hotel.rate_plan,
            check_in,
            check_out,
            200000,
            Jsonb({"guest": {"given_name": "Gildong", "family_name": "Hong", "email": "once@example.com"}}),
        ],
    ).fetchone()
    assert held and refused is None
    assert _delta(before, _checks(db)) == {"require_service": 1, "require_right": 1}

    before = _checks(db)
    db.execute(
        "select reservation_id from api.checkout_confirm_authorised(%s, %s, 'gw-auth-once')",
        [saga_id, attempt],
    ).fetchone()
    assert _delta(before, _checks(db)) == {"require_service": 1, "require_right": 1}
    db.rollback()
