"""The reports' hand-built fixture: one hotel in Tokyo (JPY, 10 % tax included in prices), the end
of March 2030 and the start of April, built through the api with the clock moved day by day.

Rooms: STD S1-S3 (11 000 JPY a night: 10 000 room + 1 000 tax), DLX D1-D2 (22 000: 20 000 + 2 000).
Calendar open for the nights 2030-03-25 .. 2030-05-04. Every booking made on 2030-03-25 (hotel-local):

    A  STD  03-30 -> 04-02 (3 nights)  direct  checked in, audited, checked out   (across the month end)
    B  DLX  03-28 -> 03-30 (2 nights)  ota     checked in, 5 000 service, checked out
    C  STD  03-29 -> 03-31 (2 nights)  member  cancelled 03-26: free (3 days ahead)
    D  DLX  03-31 -> 04-01 (1 night)   pms     cancelled 03-31: first night fee 22 000
    E  STD  03-29 -> 03-30 (1 night)   direct  no-show (night audit of 03-29): fee 11 000
    F  DLX  04-10 -> 04-12 (2 nights)  member  confirmed, in the future (nothing posted)
    room S3 out of order for the nights 03-30 and 03-31.

Members: ca (A, E), cb (B, D; rank set to gold on 03-26, to silver on 04-01), cf (C, F).
Points: B earns floor(44 000 * 0.01) = 440 on 03-30, cb redeems 100; A earns 330 on 04-02.
Reviews: A (STD) overall 4, B (DLX) overall 5.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pytest

from pyapi import config
from tests.support.report import at, d
from tests.support.sql import call, scalar


@dataclass
class Fixture:
    db: psycopg.Connection
    hotel_id: int
    room_types: dict[str, int] = field(default_factory=dict)
    rooms: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)


def build(db: psycopg.Connection) -> Fixture:
    at(db, "2030-03-25 10:00")
    hotel_id = scalar(
        db,
        "create_hotel",
        p_code="RPT",
        p_name="Report Hotel",
        p_time_zone="Asia/Tokyo",
        p_currency="JPY",
        p_tax_rate=Decimal("0.10"),
        p_prices_include_tax=True,
    )
    fx = Fixture(db, hotel_id)
    plans = {}
    for code, price, numbers in (("STD", 11000, ("S1", "S2", "S3")), ("DLX", 22000, ("D1", "D2"))):
        rt = scalar(
            db,
            "create_room_type",
            p_hotel_id=hotel_id,
            p_code=code,
            p_name=code,
            p_max_occupancy=2,
            p_base_price=price,
        )
        fx.room_types[code] = rt
        for number in numbers:
            fx.rooms[number] = scalar(
                db, "create_room", p_hotel_id=hotel_id, p_room_type_id=rt, p_number=number
            )
        plans[code] = scalar(
            db, "create_rate_plan", p_hotel_id=hotel_id, p_room_type_id=rt, p_code="flex", p_name="Flexible"
        )
    scalar(db, "open_inventory", p_hotel_id=hotel_id, p_from=d("2030-03-25"), p_until=d("2030-05-05"))
    for key in ("ca", "cb", "cf"):
        doc = scalar(
            db,
            "create_customer",
            p_given_name="Guest",
            p_family_name=key.upper(),
            p_email=f"{key}@example.com",
        )
        fx.customers[key] = doc["id"]

    def book(key: str, room_type: str, check_in: str, check_out: str, origin: str, customer: str) -> None:
        hold = call(
            db,
            "create_hold",
            p_hotel_id=hotel_id,
            p_room_type_id=fx.room_types[room_type],
            p_rate_plan_id=plans[room_type],
            p_check_in=d(check_in),
            p_check_out=d(check_out),
        )[0]
        res = call(
            db,
            "confirm_booking",
            p_hold_id=hold["hold_id"],
            p_customer_id=fx.customers[customer],
            p_payment_authorisation=f"auth-{key}",
            p_origin=origin,
        )[0]
        fx.reservations[key] = res["reservation_id"]

    book("A", "STD", "2030-03-30", "2030-04-02", "direct", "ca")
    book("B", "DLX", "2030-03-28", "2030-03-30", "ota", "cb")
    book("C", "STD", "2030-03-29", "2030-03-31", "member", "cf")
    book("D", "DLX", "2030-03-31", "2030-04-01", "pms", "cb")
    book("E", "STD", "2030-03-29", "2030-03-30", "direct", "ca")
    book("F", "DLX", "2030-04-10", "2030-04-12", "member", "cf")
    scalar(
        db,
        "block_room",
        p_hotel_id=hotel_id,
        p_room_id=fx.rooms["S3"],
        p_from=d("2030-03-30"),
        p_until=d("2030-04-01"),
        p_kind="out_of_order",
        p_reason="leak",
    )
    r = fx.reservations

    at(db, "2030-03-26 10:00")
    call(db, "cancel_reservation", p_reservation_id=r["C"])
    call(db, "set_customer_rank", p_customer_id=fx.customers["cb"], p_rank_code="gold", p_reason="VIP")

    at(db, "2030-03-28 15:00")
    call(db, "check_in", p_reservation_id=r["B"])
    scalar(
        db, "post_charge", p_reservation_id=r["B"], p_kind="service", p_amount=5000, p_description="dinner"
    )
    at(db, "2030-03-29 01:00")
    call(db, "run_night_audit", p_hotel_id=hotel_id, p_business_date=d("2030-03-28"))
    at(db, "2030-03-30 01:00")
    call(db, "run_night_audit", p_hotel_id=hotel_id, p_business_date=d("2030-03-29"))  # E becomes a no-show

    at(db, "2030-03-30 09:00")
    scalar(
        db,
        "authorise_payment",
        p_reservation_id=r["B"],
        p_method="card",
        p_amount=49000,
        p_processor_reference="ch_B",
        p_capture=True,
    )
    call(db, "check_out", p_reservation_id=r["B"])
    call(db, "earn_stay_points", p_reservation_id=r["B"])
    call(db, "redeem_points", p_customer_id=fx.customers["cb"], p_points=100, p_reason="drink")
    call(db, "submit_review", p_reservation_id=r["B"], p_overall_rating=5)

    at(db, "2030-03-30 15:00")
    call(db, "check_in", p_reservation_id=r["A"])
    at(db, "2030-03-31 01:00")
    call(db, "run_night_audit", p_hotel_id=hotel_id, p_business_date=d("2030-03-30"))
    at(db, "2030-03-31 10:00")
    call(db, "cancel_reservation", p_reservation_id=r["D"])  # arrival day: first night
    at(db, "2030-04-01 01:00")
    call(db, "run_night_audit", p_hotel_id=hotel_id, p_business_date=d("2030-03-31"))
    at(db, "2030-04-01 12:00")
    call(db, "set_customer_rank", p_customer_id=fx.customers["cb"], p_rank_code="silver", p_reason="review")
    at(db, "2030-04-02 01:00")
    call(db, "run_night_audit", p_hotel_id=hotel_id, p_business_date=d("2030-04-01"))
    at(db, "2030-04-02 09:00")
    scalar(db, "authorise_payment", p_reservation_id=r["A"], p_method="cash", p_amount=33000, p_capture=True)
    call(db, "check_out", p_reservation_id=r["A"])
    call(db, "earn_stay_points", p_reservation_id=r["A"])
    call(db, "submit_review", p_reservation_id=r["A"], p_overall_rating=4)

    call(db, "refresh_reports")
    return fx


@pytest.fixture(scope="session")
def report_url(server_url: str, template_db: str) -> Iterator[str]:
    """One database holding the fixture, shared by the report tests (they only read it)."""
    name = f"{template_db}_reports"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}" template "{template_db}"')
    yield config.with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def fx(report_url: str) -> Iterator[Fixture]:
    with psycopg.connect(report_url, autocommit=True) as conn:
        yield build(conn)
