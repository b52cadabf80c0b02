"""A confirmation code is unique across the chain: the reservations keep it unique per hotel (their
shard's key) and the chain-wide lookup core.confirmation_codes holds each code once with its hotel,
kept by a trigger in the reservation's transaction."""

from __future__ import annotations

import psycopg
import pytest


def test_each_booking_writes_its_code_to_the_chain_wide_lookup(db, make_hotel, book):
    first, second = make_hotel(), make_hotel()
    a, b = book(first), book(second)
    rows = db.execute(
        "select c.confirmation_code, c.hotel_id, c.reservation_id from core.confirmation_codes c"
        " where c.reservation_id = any(%s) order by c.reservation_id",
        [[a["reservation_id"], b["reservation_id"]]],
    ).fetchall()
    assert rows == [
        (a["confirmation_code"], first.id, a["reservation_id"]),
        (b["confirmation_code"], second.id, b["reservation_id"]),
    ]
    # every reservation has its row, and the lookup holds no other
    assert db.execute(
        "select count(*) from core.reservations r full join core.confirmation_codes c"
        " on c.confirmation_code = r.confirmation_code and c.hotel_id = r.hotel_id and c.reservation_id = r.id"
        " where r.id is null or c.reservation_id is null"
    ).fetchone() == (0,)


def test_a_code_another_hotel_holds_is_refused(db, make_hotel, book):
    first, second = make_hotel(), make_hotel()
    a, b = book(first), book(second)
    # unique per hotel on the reservations, so only the lookup can refuse it
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        db.execute(
            "update core.reservations set confirmation_code = %s where id = %s",
            [a["confirmation_code"], b["reservation_id"]],
        )
    assert caught.value.diag.constraint_name == "confirmation_codes_pkey"


def test_a_changed_code_moves_in_the_lookup(db, make_hotel, book):
    hotel = make_hotel()
    a = book(hotel)
    db.execute(
        "update core.reservations set confirmation_code = 'ZZZZZZZZ' where id = %s", [a["reservation_id"]]
    )
    assert db.execute(
        "select confirmation_code from core.confirmation_codes where reservation_id = %s",
        [a["reservation_id"]],
    ).fetchall() == [("ZZZZZZZZ",)]
    # the old code is free again
    assert db.execute(
        "select count(*) from core.confirmation_codes where confirmation_code = %s", [a["confirmation_code"]]
    ).fetchone() == (0,)


def test_a_set_based_insert_leaves_each_reservations_code_folio_and_audit_row(db, make_hotel, book):
    # one statement writes a new reservation's records for every row it inserts: its code in the
    # chain-wide lookup, its folio in its currency, and its audit row (keys, who, action)
    hotel = make_hotel()
    a, b = book(hotel), book(hotel, start=4)
    ids = [
        r[0]
        for r in db.execute(
            "insert into core.reservations (hotel_id, customer_id, status, origin, stay, currency, total_amount)"
            " select r.hotel_id, r.customer_id, r.status, r.origin, r.stay, r.currency, r.total_amount"
            " from core.reservations r where r.id = any(%s) order by r.id returning id",
            [[a["reservation_id"], b["reservation_id"]]],
        ).fetchall()
    ]
    assert len(ids) == 2
    assert db.execute(
        "select count(*) from core.reservations r join core.confirmation_codes c"
        " on c.confirmation_code = r.confirmation_code and c.hotel_id = r.hotel_id and c.reservation_id = r.id"
        " where r.id = any(%s)",
        [ids],
    ).fetchone() == (2,)
    assert db.execute(
        "select count(*) from core.reservations r join core.folios f"
        " on f.reservation_id = r.id and f.hotel_id = r.hotel_id and f.currency = r.currency where r.id = any(%s)",
        [ids],
    ).fetchone() == (2,)
    assert db.execute(
        "select entity_id, hotel_id, action, changed, db_role, login_role from core.audit_log"
        " where entity = 'reservation' and entity_id = any(%s) order by entity_id",
        [ids],
    ).fetchall() == [(i, hotel.id, "insert", [], db.info.user, db.info.user) for i in sorted(ids)]


def test_a_new_code_the_chain_already_gave_is_refused_and_nothing_is_written(db, make_hotel, book):
    first, second = make_hotel(), make_hotel()
    a = book(first)
    before = db.execute("select count(*) from core.folios").fetchone()
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        db.execute(
            "insert into core.reservations (hotel_id, customer_id, stay, currency, total_amount, confirmation_code)"
            " select %s, r.customer_id, r.stay, r.currency, r.total_amount, r.confirmation_code"
            " from core.reservations r where r.id = %s",
            [second.id, a["reservation_id"]],
        )
    assert caught.value.diag.constraint_name == "confirmation_codes_pkey"
    assert db.execute("select count(*) from core.folios").fetchone() == before
