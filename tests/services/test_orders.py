"""Orders: taken only for an in-house stay, priced with the hotel's tax treatment, the status
machine (ordered -> accepted -> delivered, or cancelled), folio postings in the transaction of the
delivery and credit lines for a cancelled delivery, idempotency per client order key, hours, stock."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import raises_code
from tests.support.services import check_out, folio_recount, service_lines
from tests.support.sql import call, one, scalar


def test_an_order_of_an_in_house_stay_is_priced_like_the_hotel(db, make_hotel, checked_in, catalog, order):
    h = make_hotel(tax_rate=0.10, prices_include_tax=True)
    items = catalog(h)
    stay = checked_in(h)
    doc = order(stay, {items["sandwich"]: 2, items["water"]: 1}, notes="no onions")
    assert doc["status"] == "ordered" and doc["replayed"] is False
    assert doc["currency"] == "JPY" and doc["room_number"] is not None
    # tax included: 2 x 2200 = 4400 gross, tax 4400 - round(4400 / 1.1) = 400; water 500, tax 45
    assert Decimal(str(doc["total_amount"])) == 4900
    assert Decimal(str(doc["tax_amount"])) == 445
    assert [(line["quantity"], line["unit_price"]) for line in doc["lines"]] == [(2, 2200), (1, 500)]
    assert doc["charged_amount"] == 0


def test_tax_is_added_when_the_hotel_prices_without_tax(db, make_hotel, checked_in, catalog, order):
    h = make_hotel(currency="USD", tax_rate=0.0875, prices_include_tax=False, time_zone="America/New_York")
    items = catalog(h)
    doc = order(checked_in(h), {items["laundry"]: 3})
    assert Decimal(str(doc["net_amount"])) == Decimal("4500")
    assert Decimal(str(doc["tax_amount"])) == Decimal("393.75")
    assert Decimal(str(doc["total_amount"])) == Decimal("4893.75")


def test_an_order_for_a_guest_not_checked_in_is_refused(db, hotel, book, catalog, order):
    items = catalog(hotel)
    arriving = book(hotel, 0, 2)
    with raises_code("STAY_NOT_IN_HOUSE") as excinfo:
        order(arriving, {items["sandwich"]: 1})
    assert "confirmed" in excinfo.value.diag.message_detail
    assert one(db, "select count(*) from core.service_orders") == 0
    # check-in enables guest services for the stay
    call(db, "check_in", p_reservation_id=arriving)
    assert order(arriving, {items["sandwich"]: 1})["status"] == "ordered"


def test_check_out_ends_guest_services(db, hotel, checked_in, catalog, order, pay_balance):
    items = catalog(hotel)
    stay = checked_in(hotel, nights=1)
    check_out(db, stay)
    with raises_code("STAY_NOT_IN_HOUSE") as excinfo:
        order(stay, {items["sandwich"]: 1})
    assert "checked_out" in excinfo.value.diag.message_detail


def test_delivery_posts_the_charges_to_the_folio_in_its_transaction(
    db, hotel, checked_in, catalog, order, move
):
    items = catalog(hotel)
    stay = checked_in(hotel)
    before, _ = folio_recount(db, stay)
    doc = order(stay, {items["sandwich"]: 2})
    move(doc["id"], "accepted")
    assert folio_recount(db, stay)[0] == before  # accepted: nothing charged yet
    delivered = move(doc["id"], "delivered")
    assert delivered["status"] == "delivered" and delivered["delivered_at"] is not None
    assert service_lines(db, stay) == [("service", Decimal(4000)), ("tax", Decimal(400))]
    reported, counted = folio_recount(db, stay)
    assert reported == counted == before + 4400
    assert delivered["charged_amount"] == 4400


def test_a_failed_delivery_writes_nothing(db, hotel, checked_in, catalog, order, move):
    """Delivery and posting are one transaction: a posting that fails leaves the order accepted."""
    items = catalog(hotel)
    stay = checked_in(hotel)
    doc = order(stay, {items["sandwich"]: 1})
    move(doc["id"], "accepted")
    db.execute(
        "alter table core.folio_lines add constraint fail_services check (kind <> 'service') not valid"
    )
    try:
        with pytest.raises(psycopg.errors.CheckViolation):
            move(doc["id"], "delivered")
    finally:
        db.execute("alter table core.folio_lines drop constraint fail_services")
    assert one(db, "select status::text from core.service_orders where id = %s", doc["id"]) == "accepted"
    assert service_lines(db, stay) == []


def test_a_delivery_killed_mid_way_leaves_nothing_behind(
    db, fresh_db, hotel, checked_in, catalog, order, move
):
    """The backend delivering is terminated after the folio line is written and before its posting
    is recorded: the whole delivery rolls back, the order is still accepted and can be delivered."""
    items = catalog(hotel)
    stay = checked_in(hotel)
    doc = order(stay, {items["sandwich"]: 1})
    move(doc["id"], "accepted")
    before = folio_recount(db, stay)
    with psycopg.connect(fresh_db) as blocker, psycopg.connect(fresh_db, autocommit=True) as victim:
        # hold the postings table so the delivery stops between its two writes
        blocker.execute("lock table core.service_order_postings in exclusive mode")
        pid = victim.info.backend_pid
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                victim.execute("select api.set_order_status(%s, 'delivered')", (doc["id"],))
            except BaseException as exc:  # noqa: BLE001 — the kill is expected
                errors.append(exc)

        t = threading.Thread(target=deliver)
        t.start()
        for _ in range(200):
            waiting = one(db, "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s", pid)
            if waiting:
                break
            time.sleep(0.02)
        assert waiting, "the delivery never reached the postings table"
        assert one(db, "select pg_terminate_backend(%s)", pid) is True
        t.join(10)
        blocker.rollback()
    assert errors and isinstance(errors[0], psycopg.OperationalError)
    assert one(db, "select status::text from core.service_orders where id = %s", doc["id"]) == "accepted"
    assert folio_recount(db, stay) == before and service_lines(db, stay) == []
    assert move(doc["id"], "delivered")["charged_amount"] == 2200


def test_a_cancelled_order_never_posts(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    stay = checked_in(hotel)
    before, _ = folio_recount(db, stay)
    first, second = order(stay, {items["sandwich"]: 1}), order(stay, {items["massage"]: 1})
    move(first["id"], "cancelled", "guest changed mind")
    move(second["id"], "accepted")
    cancelled = move(second["id"], "cancelled")
    assert cancelled["status"] == "cancelled" and cancelled["reversed"] is False
    assert service_lines(db, stay) == []
    assert folio_recount(db, stay) == (before, before)


def test_a_cancelled_delivery_is_reversed_by_credit_lines(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    stay = checked_in(hotel)
    before, _ = folio_recount(db, stay)
    doc = order(stay, {items["sandwich"]: 1, items["laundry"]: 2})
    move(doc["id"], "accepted")
    move(doc["id"], "delivered")
    charged = service_lines(db, stay)
    assert sum(a for _, a in charged) == 2200 + 3000
    reversed_doc = move(doc["id"], "cancelled", "cold food")
    assert reversed_doc["reversed"] is True and reversed_doc["charged_amount"] == 0
    lines = service_lines(db, stay)
    # the charges stay; one negative adjustment per charge follows them
    assert lines[: len(charged)] == charged
    assert [(k, -a) for k, a in lines[len(charged) :]] == [("adjustment", a) for _, a in charged]
    assert folio_recount(db, stay) == (before, before)
    pairs = one(
        db,
        "select count(*) from core.service_order_postings p join core.folio_lines c on c.id = p.reverses_line_id"
        " join core.folio_lines r on r.id = p.folio_line_id where r.amount = -c.amount and p.order_id = %s",
        doc["id"],
    )
    assert pairs == len(charged)


def test_folio_recount_after_many_orders(db, hotel, checked_in, catalog, order, move):
    """delivered, cancelled before delivery, and reversed orders: the balance equals the recount
    and equals the room charges plus the delivered-and-not-reversed orders."""
    items = catalog(hotel)
    stay = checked_in(hotel)
    before, _ = folio_recount(db, stay)
    expected = Decimal(0)
    for n in range(9):
        doc = order(stay, {items["laundry"]: n % 3 + 1})
        if n % 3 == 0:
            move(doc["id"], "cancelled")
            continue
        move(doc["id"], "accepted")
        move(doc["id"], "delivered")
        if n % 3 == 2:
            move(doc["id"], "cancelled", "complaint")
        else:
            expected += Decimal(str(doc["total_amount"]))
    reported, counted = folio_recount(db, stay)
    assert reported == counted == before + expected
    by_orders = one(
        db,
        "select coalesce(sum(total_amount), 0) from core.service_orders"
        " where reservation_id = %s and status = 'delivered'",
        stay,
    )
    assert by_orders == expected


def test_the_same_client_key_answers_the_same_order(db, hotel, checked_in, catalog, order):
    items = catalog(hotel)
    stay = checked_in(hotel)
    first = order(stay, {items["water"]: 2}, key="app-123")
    again = order(stay, {items["water"]: 2}, key="app-123")
    assert again["id"] == first["id"] and again["replayed"] is True
    assert one(db, "select stock from core.service_items where id = %s", items["water"]) == 3
    with raises_code("IDEMPOTENCY_MISMATCH"):
        order(stay, {items["water"]: 1}, key="app-123")


def test_availability_hours_are_the_hotels_local_time(db, hotel, checked_in, catalog, order, clock):
    items = catalog(hotel)
    stay = checked_in(hotel, nights=3)
    # 03:00 UTC is noon in Tokyo: the massage (10:00-20:00) can be ordered
    order(stay, {items["massage"]: 1})
    # 12:30 UTC is 21:30 in Tokyo: the spa is closed, room service (until 23:00) still open
    clock.at(dt.datetime.combine(hotel.today, dt.time(12, 30), tzinfo=dt.UTC))
    with raises_code("SERVICE_UNAVAILABLE") as excinfo:
        order(stay, {items["massage"]: 1})
    assert "21:30" in excinfo.value.diag.message_detail
    order(stay, {items["sandwich"]: 1})


def test_an_item_over_midnight(db, hotel, checked_in, order, clock):
    bar = scalar(
        db,
        "create_service_item",
        p_hotel_id=hotel.id,
        p_category="room_service",
        p_code="night",
        p_name="Night menu",
        p_price=1800,
        p_available_from="22:00",
        p_available_until="02:00",
    )
    stay = checked_in(hotel, nights=3)
    with raises_code("SERVICE_UNAVAILABLE"):
        order(stay, {bar: 1})  # noon
    clock.at(dt.datetime.combine(hotel.today, dt.time(15, 30), tzinfo=dt.UTC))  # 00:30 in Tokyo
    assert order(stay, {bar: 1})["status"] == "ordered"


def test_stock_is_taken_and_given_back(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    stay = checked_in(hotel)
    doc = order(stay, {items["water"]: 4})
    with raises_code("OUT_OF_STOCK") as excinfo:
        order(stay, {items["water"]: 2})
    assert "1 left" in excinfo.value.diag.message_detail
    move(doc["id"], "cancelled")
    assert one(db, "select stock from core.service_items where id = %s", items["water"]) == 5
    delivered = order(stay, {items["water"]: 5})
    move(delivered["id"], "accepted")
    move(delivered["id"], "delivered")
    move(delivered["id"], "cancelled", "reversed charge")  # consumed: the bottles do not come back
    assert one(db, "select stock from core.service_items where id = %s", items["water"]) == 0


def test_stock_never_goes_below_zero_even_written_directly(db, hotel, catalog):
    items = catalog(hotel)
    with pytest.raises(psycopg.errors.CheckViolation) as excinfo:
        db.execute("update core.service_items set stock = -1 where id = %s", (items["water"],))
    assert excinfo.value.diag.constraint_name == "service_items_stock_not_negative"
    with raises_code("OUT_OF_STOCK"):
        call(db, "update_service_item", p_hotel_id=hotel.id, p_service_item_id=items["water"], p_add_stock=-6)


def test_an_item_of_another_hotel_is_not_found(db, make_hotel, checked_in, catalog, order):
    a, b = make_hotel(), make_hotel()
    theirs = catalog(b)
    with raises_code("SERVICE_ITEM_NOT_FOUND"):
        order(checked_in(a), {theirs["sandwich"]: 1})


def test_delivery_after_check_out_is_refused(db, hotel, checked_in, catalog, order, move, pay_balance):
    items = catalog(hotel)
    stay = checked_in(hotel, nights=1)
    doc = order(stay, {items["sandwich"]: 1})
    move(doc["id"], "accepted")
    check_out(db, stay)
    with raises_code("STAY_NOT_IN_HOUSE"):
        move(doc["id"], "delivered")
    assert move(doc["id"], "cancelled")["status"] == "cancelled"


def test_events_are_written_with_the_changes(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    doc = order(checked_in(hotel), {items["sandwich"]: 1})
    move(doc["id"], "accepted")
    move(doc["id"], "delivered")
    move(doc["id"], "cancelled")
    events = db.execute(
        "select type, aggregate_seq, payload ->> 'status' from core.events where aggregate_kind = 'order'"
        " and aggregate_id = %s order by aggregate_seq",
        (str(doc["id"]),),
    ).fetchall()
    assert events == [
        ("service.ordered", 1, "ordered"),
        ("service.completed", 2, "delivered"),
        ("service.cancelled", 3, "cancelled"),
    ]


def test_a_bad_items_list_is_refused(db, hotel, checked_in, catalog):
    items = catalog(hotel)
    stay = checked_in(hotel)
    for bad in (
        [],
        {"service_item_id": items["water"]},
        [{"service_item_id": items["water"], "quantity": 0}],
        [{"service_item_id": items["water"], "quantity": 101}],
        [{"service_item_id": items["water"], "quantity": 1.5}],
        [{"service_item_id": "1"}],
        [{"service_item_id": items["water"]}, {"service_item_id": items["water"]}],
    ):
        with raises_code("INVALID_ARGUMENT"):
            call(db, "create_order", p_reservation_id=stay, p_client_key="k", p_items=Jsonb(bad))
