"""The status machine and versions hold whoever writes the row (triggers)."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import raises_code


@pytest.mark.parametrize("target", ["pending", "checked_out"])
def test_invalid_transitions_are_refused(db, hotel, book, target):
    res = book(hotel)
    with raises_code("INVALID_STATE_TRANSITION"):
        db.execute("update core.reservations set status = %s where id = %s", (target, res["reservation_id"]))


def test_valid_transitions_bump_the_version(db, hotel, book):
    res = book(hotel)
    rid = res["reservation_id"]
    db.execute("update core.reservations set status = 'checked_in' where id = %s", (rid,))
    db.execute("update core.reservations set status = 'checked_out' where id = %s", (rid,))
    assert db.execute("select status, version from core.reservations where id = %s", (rid,)).fetchone() == (
        "checked_out",
        3,
    )
    with raises_code("INVALID_STATE_TRANSITION"):
        db.execute("update core.reservations set status = 'cancelled' where id = %s", (rid,))


def test_an_empty_or_open_stay_cannot_be_stored(db, hotel, book):
    res = book(hotel)
    for stay in ("empty", "[2030-01-01,)"):
        with pytest.raises(psycopg.errors.CheckViolation):
            db.execute(
                "update core.reservation_rooms set stay = %s::daterange where reservation_id = %s",
                (stay, res["reservation_id"]),
            )
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("update core.reservations set stay = null where id = %s", (res["reservation_id"],))
