"""Card data is never stored: a card number (13-19 digits, spaces or dashes allowed, passing the
Luhn check) typed into any free text is refused with CARD_NUMBER_REFUSED, and nothing is
written. Each system does what its users would do: a member's guest pastes the card into the special
requests, the PMS writes it into a charge description or a cancellation reason, a saas feedback form
gets it in a review, and the checkout saga would store it with the request it received."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import raises_code, sqlstate
from tests.support.rights import World
from tests.support.sql import call, scalar

PAN = "4111 1111 1111 1111"  # Visa's test number: Luhn-valid
NOT_A_PAN = "4111 1111 1111 1112"  # one digit off: fails the Luhn check


def refused(conn: psycopg.Connection, fn, *args, **kwargs) -> str:
    with pytest.raises(psycopg.Error) as excinfo:
        fn(*args, **kwargs)
    conn.rollback()
    assert excinfo.value.sqlstate == sqlstate("CARD_NUMBER_REFUSED"), excinfo.value
    return excinfo.value.diag.message_detail


def book(conn: psycopg.Connection, world: World, requests: str):
    return scalar(
        conn,
        "book_reservation",
        p_hotel_id=world.a.id,
        p_room_type_id=world.a.room_type,
        p_rate_plan_id=world.a.rate_plan,
        p_check_in=world.a.day(14),
        p_check_out=world.a.day(15),
        p_customer_id=world.customer,
        p_origin="member",
        p_special_requests=requests,
    )


def test_a_card_number_in_free_text_is_refused_for_every_system(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    before = db.execute("select count(*) from core.reservations").fetchone()[0]
    member, pms, saas = connect_as("member"), connect_as("pms"), connect_as("saas")
    detail = refused(member, book, member, world, f"late arrival, card {PAN} exp 12/29")
    assert "reservations.special_requests" in detail and PAN not in detail
    assert db.execute("select count(*) from core.reservations").fetchone()[0] == before
    # digits that are not a card number are kept
    assert book(member, world, f"loyalty no. {NOT_A_PAN}")["special_requests"].endswith(NOT_A_PAN)
    member.rollback()
    version = scalar(pms, "get_reservation", p_reservation_id=world.future[world.a.id])["version"]
    refused(
        pms,
        call,
        pms,
        "modify_reservation",
        p_reservation_id=world.future[world.a.id],
        p_version=version,
        p_special_requests=PAN.replace(" ", "-"),
    )
    refused(pms, call, pms, "cancel_reservation", p_reservation_id=world.future[world.a.id], p_reason=PAN)
    refused(
        pms,
        call,
        pms,
        "post_charge",
        p_reservation_id=world.in_house[world.a.id],
        p_kind="service",
        p_amount=1500,
        p_description=f"minibar, paid with {PAN.replace(' ', '')}",
    )
    refused(
        pms,
        call,
        pms,
        "authorise_payment",
        p_reservation_id=world.in_house[world.a.id],
        p_method="card",
        p_amount=100,
        p_processor_reference=PAN,
    )
    version = scalar(member, "get_customer", p_customer_id=world.customer)["version"]
    refused(
        member,
        call,
        member,
        "update_customer",
        p_customer_id=world.customer,
        p_expected_version=version,
        p_changes=Jsonb({"preferences": {"card": PAN}}),
    )
    refused(
        saas,
        call,
        saas,
        "submit_review",
        p_reservation_id=world.departed[world.a.id],
        p_overall_rating=5,
        p_comment=f"great stay, charge my {PAN} next time",
    )
    assert db.execute("select count(*) from core.reviews").fetchone()[0] == 0


def test_the_checkout_saga_never_stores_a_card_number(db: psycopg.Connection, world: World) -> None:
    """The saga's row as the checkout stores it: the request received and the gateway references."""

    def saga(**changes) -> None:
        row = {
            "special_requests": None,
            "request": Jsonb({"hotelId": world.a.id, "specialRequests": "quiet room"}),
            "authorisation_ref": None,
            "capture_ref": None,
        } | changes
        with db.transaction():
            db.execute(
                "insert into core.checkout_sagas (hotel_id, room_type_id, rate_plan_id, stay, rooms, adults, children,"
                " origin, special_requests, request, currency, amount, authorisation_ref, capture_ref, created_at,"
                " updated_at) values (%(hotel)s, %(type)s, %(plan)s, daterange(%(day)s, %(day)s + 1), 1, 2, 0,"
                " 'member', %(special_requests)s, %(request)s, 'JPY', 1000, %(authorisation_ref)s, %(capture_ref)s,"
                " now(), now())",
                row
                | {
                    "hotel": world.a.id,
                    "type": world.a.room_type,
                    "plan": world.a.rate_plan,
                    "day": world.a.day(3),
                },
            )

    saga()  # a request without card data is stored
    # the request id the API makes up is an identifier, not free text: a hex id whose digits happen
    # to form a Luhn-valid run is stored (it once refused one checkout in a few hundred)
    saga(
        request=Jsonb(
            {"hotelId": world.a.id, "request_id": "req-" + PAN.replace(" ", "") + "abcdef0123456789"}
        )
    )
    for changes in (
        {"request": Jsonb({"hotelId": world.a.id, "specialRequests": f"card {PAN}"})},
        {"special_requests": PAN},
        {"authorisation_ref": PAN.replace(" ", "")},
    ):
        with raises_code("CARD_NUMBER_REFUSED"):
            saga(**changes)
    saga_id = db.execute("select max(id) from core.checkout_sagas").fetchone()[0]
    with raises_code("CARD_NUMBER_REFUSED"):
        db.execute("update core.checkout_sagas set capture_ref = %s where id = %s", (PAN, saga_id))


def test_clean_text_runs_no_card_trigger_function(db: psycopg.Connection, world: World) -> None:
    # the card test is the trigger's WHEN clause: a row without a card number never calls the
    # trigger function, so a booking with a payment reference pays for the test alone
    trigger_calls = "select pg_stat_get_xact_function_calls('internal.tg_refuse_card_numbers'::regproc)"
    db.execute("set track_functions = 'all'")
    with db.transaction():
        book(db, world, f"quiet room please, loyalty no. {NOT_A_PAN}")
        assert (db.execute(trigger_calls).fetchone()[0] or 0) == 0
    with pytest.raises(psycopg.Error) as excinfo:
        with db.transaction():
            book(db, world, f"card {PAN}")
    assert excinfo.value.sqlstate == sqlstate("CARD_NUMBER_REFUSED")
