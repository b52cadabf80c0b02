"""Factories of the customer and loyalty tests (fixtures): customers through api.create_customer,
and a JPY hotel in Japan inserted as rows (one room type, one rate plan)."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from . import factories


@pytest.fixture
def customer(db: psycopg.Connection) -> Callable[..., int]:
    """Creates a customer through api.create_customer and returns its id."""

    def make(**kw) -> int:
        return factories.create_customer(db, **kw)

    return make


@pytest.fixture
def hotel(db: psycopg.Connection) -> dict:
    """A JPY hotel in Japan with one room type and rate plan."""
    n = factories.seq()
    hotel_id = db.execute(
        "insert into core.hotels (code, name, time_zone, currency, country_code) "
        "values (%s, 'Hotel Sakura', 'Asia/Tokyo', 'JPY', 'JP') returning id",
        (f"H{n}",),
    ).fetchone()[0]
    room_type_id = db.execute(
        "insert into core.room_types (hotel_id, code, name, max_occupancy, base_price) "
        "values (%s, 'TWN', 'Twin', 2, 12000) returning id",
        (hotel_id,),
    ).fetchone()[0]
    rate_plan_id = db.execute(
        "insert into core.rate_plans (hotel_id, room_type_id, code, name) values (%s, %s, 'BAR', 'Best rate') returning id",
        (hotel_id, room_type_id),
    ).fetchone()[0]
    return {"id": hotel_id, "room_type_id": room_type_id, "rate_plan_id": rate_plan_id}
