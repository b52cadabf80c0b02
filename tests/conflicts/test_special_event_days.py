"""The hotel's calendar of special event days (seed 000: 特別イベント日の競合): written by hotel-pms
and admin within their hotels, read by pms and member; bad input is refused with registered
errors and writes nothing."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import DENIED, raises_code
from tests.support.factories import RoomType, make_hotel, seq
from tests.support.sql import call, one, scalar


def test_set_rename_list_and_remove(db: psycopg.Connection, hotel):
    days = [hotel.day(5), hotel.day(6)]
    assert (
        scalar(db, "set_special_event_days", p_hotel_id=hotel.id, p_days=days, p_names=["Expo", "Expo"]) == 2
    )
    # writing a day again renames it
    scalar(
        db,
        "set_special_event_days",
        p_hotel_id=hotel.id,
        p_days=[days[1]],
        p_names=["Expo closing"],
        p_app_user="fd-1",
    )
    listed = scalar(
        db, "list_special_event_days", p_hotel_id=hotel.id, p_from=hotel.day(0), p_until=hotel.day(30)
    )
    assert [(d["day"], d["name"]) for d in listed] == [(str(days[0]), "Expo"), (str(days[1]), "Expo closing")]
    assert listed[1]["created_by"].endswith(":fd-1")
    assert scalar(db, "remove_special_event_days", p_hotel_id=hotel.id, p_days=days + [hotel.day(9)]) == 2
    assert one(db, "select count(*) from core.special_event_days where hotel_id = %s", hotel.id) == 0


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"p_days": None}, "INVALID_ARGUMENT"),
        ({"p_days": []}, "INVALID_ARGUMENT"),
        ({"p_names": ["A", "B"]}, "INVALID_ARGUMENT"),
        ({"p_names": [" "]}, "INVALID_ARGUMENT"),
        ({"p_names": ["x" * 201]}, "INVALID_ARGUMENT"),
        ({"p_days": ["infinity"]}, "INVALID_ARGUMENT"),
        ({"p_hotel_id": 999999}, "HOTEL_NOT_FOUND"),
        ({"p_hotel_id": None}, "INVALID_ARGUMENT"),
    ],
)
def test_bad_input_is_refused(db: psycopg.Connection, hotel, kw, error):
    args = {"p_hotel_id": hotel.id, "p_days": [hotel.day(5)], "p_names": ["Expo"]} | kw
    with raises_code(error):
        call(db, "set_special_event_days", **args)
    assert one(db, "select count(*) from core.special_event_days") == 0


def test_twice_the_same_day_and_bad_ranges(db: psycopg.Connection, hotel):
    with raises_code("INVALID_ARGUMENT"):
        call(db, "set_special_event_days", p_hotel_id=hotel.id, p_days=[hotel.day(5)] * 2, p_names=["A", "B"])
    with raises_code("INVALID_ARGUMENT"):
        call(db, "remove_special_event_days", p_hotel_id=hotel.id, p_days=[])
    with raises_code("INVALID_DATES"):
        call(db, "list_special_event_days", p_hotel_id=hotel.id, p_from=hotel.day(5), p_until=hotel.day(5))


def test_rights_and_hotel_scope_are_enforced(db: psycopg.Connection, hotel):
    other = make_hotel(
        db, code=f"EV{seq()}", name="Other", room_types=(RoomType("STD", 2, 10000, rooms=1),), days=5
    )
    # a front desk limited to the first hotel
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values ('hotelcore_pms', %s)", (hotel.id,)
    )
    db.execute("set role hotelcore_pms")
    try:
        assert (
            scalar(db, "set_special_event_days", p_hotel_id=hotel.id, p_days=[hotel.day(5)], p_names=["Expo"])
            == 1
        )
        with raises_code("HOTEL_NOT_FOUND"):
            call(db, "set_special_event_days", p_hotel_id=other.id, p_days=[other.day(2)], p_names=["Expo"])
        with raises_code("HOTEL_NOT_FOUND"):
            call(db, "remove_special_event_days", p_hotel_id=other.id, p_days=[other.day(2)])
        with raises_code("HOTEL_NOT_FOUND"):
            call(
                db, "list_special_event_days", p_hotel_id=other.id, p_from=other.day(0), p_until=other.day(5)
            )
    finally:
        db.execute("reset role")
    # hotel-member reads, never writes; hotel-saas neither
    for role in ("hotelcore_member", "hotelcore_saas"):
        db.execute(f"set role {role}")
        try:
            with pytest.raises(psycopg.Error) as refused:
                call(
                    db, "set_special_event_days", p_hotel_id=hotel.id, p_days=[hotel.day(6)], p_names=["Expo"]
                )
            assert refused.value.sqlstate in DENIED
        finally:
            db.execute("reset role")
    db.execute("set role hotelcore_member")
    try:
        assert (
            len(
                scalar(
                    db,
                    "list_special_event_days",
                    p_hotel_id=hotel.id,
                    p_from=hotel.day(0),
                    p_until=hotel.day(30),
                )
            )
            == 1
        )
    finally:
        db.execute("reset role")
    assert one(db, "select count(*) from core.special_event_days where hotel_id = %s", other.id) == 0
