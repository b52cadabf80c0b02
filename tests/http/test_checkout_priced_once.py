"""The checkout prices a stay once: its hold keeps the prices of the quote its first step checked
the amount against in the same transaction (internal.quote -> internal.create_hold's p_quote),
and prices the stay itself only when it runs in another transaction than that quote. Counted
with the transaction's own function statistics (pg_stat_xact_user_functions), never timed."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

BEGIN = "select saga_id, attempt from api.checkout_begin(null, %s, %s, %s, %s, %s, 1, 2, 0, %s, 'KRW', %s)"


def _pricings(db: psycopg.Connection) -> int:
    row = db.execute(
        "select calls from pg_catalog.pg_stat_xact_user_functions"
        " where schemaname = 'internal' and funcname = 'stay_offers'"
    ).fetchone()
    return 0 if row is None else row[0]


def _hold_prices(db: psycopg.Connection, hold_id: int) -> tuple:
    return db.execute(
        "select h.total_amount, h.subtotal_per_room, array_agg(l.nightly) from core.holds h"
        " join core.hold_lines l on l.hold_id = h.id where h.id = %s group by h.id, h.hotel_id",
        [hold_id],
    ).fetchone()


def _begin(db, hotel, offset: int):
    check_in, check_out = hotel.stay(offset, 2)
    return db.execute(
        BEGIN,
        [
            hotel.id,
            hotel.room_type,
            hotel.rate_plan,
            check_in,
            check_out,
            200000,
            Jsonb(
                {"guest": {"given_name": "Gildong", "family_name": "Hong", "email": f"p{offset}@example.com"}}
            ),
        ],
    ).fetchone()


def test_the_hold_keeps_the_quote_of_its_transaction(world, db):
    db.autocommit = False
    db.execute("set local track_functions = 'all'")
    # each step in a savepoint, as the saga runs them (its rows get subtransaction ids)
    with db.transaction():
        saga_id, attempt = _begin(db, world.a, 3)
    assert _pricings(db) == 1  # the quote
    with db.transaction():
        hold_id = db.execute("select hold_id from api.checkout_hold(%s, %s)", [saga_id, attempt]).fetchone()[
            0
        ]
    assert _pricings(db) == 1  # the hold priced nothing
    total, subtotal, nightly = _hold_prices(db, hold_id)
    assert total == 200000 and subtotal == 200000
    assert [list(n) for n in nightly] == [[100000, 100000]]
    db.commit()


def test_a_hold_in_a_later_transaction_prices_the_stay_again(world, db):
    db.autocommit = False
    saga_id, attempt = _begin(db, world.a, 5)
    db.commit()
    db.execute("set local track_functions = 'all'")
    hold_id = db.execute("select hold_id from api.checkout_hold(%s, %s)", [saga_id, attempt]).fetchone()[0]
    assert _pricings(db) == 1  # the quote was another transaction's: priced here
    total, subtotal, nightly = _hold_prices(db, hold_id)
    assert total == 200000 and subtotal == 200000
    assert [list(n) for n in nightly] == [[100000, 100000]]
    db.commit()
