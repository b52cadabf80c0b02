"""Factories for the guest-service tests. The hotel, customer, booking and check-in factories are
the front desk's (tests/support/frontdesk.py); on top of them: a catalog and an in-house stay's order."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import psycopg
import pytest

from tests.support.factories import Hotel
from tests.support.frontdesk import (  # noqa: F401 (the front desk's fixtures, reused as they are)
    book,
    checked_in,
    clock,
    customer,
    hotel,
    make_customer,
    make_hotel,
    pay_balance,
    pinned_clock,
)
from tests.support.sql import scalar

_keys = itertools.count(1)


@pytest.fixture
def catalog(db: psycopg.Connection) -> Callable[[Hotel], dict[str, int]]:
    """A hotel's catalog: club sandwich (room service, 07:00-23:00), water (minibar, 5 in stock),
    massage (spa, 10:00-20:00), laundry (all day). Prices as the hotel prices (tax included or not)."""

    def make(h: Hotel) -> dict[str, int]:
        items = {}
        for code, category, price, hours, stock in (
            ("sandwich", "room_service", 2200, ("07:00", "23:00"), None),
            ("water", "minibar", 500, (None, None), 5),
            ("massage", "spa", 12000, ("10:00", "20:00"), None),
            ("laundry", "laundry", 1500, (None, None), None),
        ):
            items[code] = scalar(
                db,
                "create_service_item",
                p_hotel_id=h.id,
                p_category=category,
                p_code=code,
                p_name=code.title(),
                p_price=price,
                p_available_from=hours[0],
                p_available_until=hours[1],
                p_stock=stock,
            )
        return items

    return make


@pytest.fixture
def order(db: psycopg.Connection) -> Callable[..., dict]:
    """Places an order: order(reservation_id, {item_id: quantity}, key=...); the order document."""

    def make(
        reservation_id: int, lines: dict[int, int], *, key: str | None = None, notes: str | None = None
    ) -> dict:
        from psycopg.types.json import Jsonb

        items = [{"service_item_id": i, "quantity": q} for i, q in lines.items()]
        return scalar(
            db,
            "create_order",
            p_reservation_id=reservation_id,
            p_client_key=key or f"key-{next(_keys)}",
            p_items=Jsonb(items),
            p_notes=notes,
        )

    return make


@pytest.fixture
def move(db: psycopg.Connection) -> Callable[[int, str], dict]:
    def run(order_id: int, status: str, reason: str | None = None) -> dict:
        return scalar(db, "set_order_status", p_order_id=order_id, p_status=status, p_reason=reason)

    return run
