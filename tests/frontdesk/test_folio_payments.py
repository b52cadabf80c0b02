"""api.post_charge and the payment lifecycle: preauthorised -> captured -> refunded, voided, failed."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.support.errors import raises_code
from tests.support.frontdesk import balance
from tests.support.sql import call, one, scalar


@pytest.fixture
def rid(hotel, book) -> int:
    return book(hotel, 1, 2)


def authorise(db, rid, amount, ref="pi_1", method="card"):
    return scalar(
        db,
        "authorise_payment",
        p_reservation_id=rid,
        p_method=method,
        p_amount=amount,
        p_processor_reference=ref,
    )


def test_every_reservation_has_a_folio_in_its_currency(db, rid):
    assert one(db, "select currency from core.folios where reservation_id = %s", rid) == "JPY"
    assert balance(db, rid) == 0


def test_charges_and_payments_make_the_balance(db, rid):
    call(
        db,
        "post_charge",
        p_reservation_id=rid,
        p_kind="service",
        p_amount=2500,
        p_description="room service",
        p_currency="JPY",
        p_app_user="saas",
    )
    call(
        db, "post_charge", p_reservation_id=rid, p_kind="adjustment", p_amount=-500, p_description="goodwill"
    )
    pay = authorise(db, rid, 3000)
    assert one(db, "select status::text from core.payments where id = %s", pay) == "preauthorised"
    assert balance(db, rid) == 2000  # an authorisation is not a payment
    assert scalar(db, "capture_payment", p_payment_id=pay, p_amount=1800) == "captured"
    assert balance(db, rid) == 200
    assert scalar(db, "refund_payment", p_payment_id=pay, p_amount=300) == "refunded"
    assert scalar(db, "refund_payment", p_payment_id=pay, p_amount=200) == "refunded"
    assert balance(db, rid) == 700
    row = db.execute(
        "select charges, payments, balance from api.folio_balances where reservation_id = %s", (rid,)
    ).fetchone()
    assert row == (2000, 1300, 700)


def test_capture_defaults_to_the_authorised_amount_and_refund_to_the_rest(db, rid):
    pay = authorise(db, rid, 4000)
    call(db, "capture_payment", p_payment_id=pay)
    assert balance(db, rid) == -4000
    call(db, "refund_payment", p_payment_id=pay)
    assert balance(db, rid) == 0
    assert db.execute(
        "select captured_amount, refunded_amount from core.payments where id = %s", (pay,)
    ).fetchone() == (4000, 4000)


def test_capture_above_the_authorisation_is_refused(db, rid):
    pay = authorise(db, rid, 1000)
    with raises_code("AMOUNT_EXCEEDS_AUTHORISED"):
        call(db, "capture_payment", p_payment_id=pay, p_amount=1001)


def test_refund_above_the_capture_is_refused(db, rid):
    pay = authorise(db, rid, 1000)
    call(db, "capture_payment", p_payment_id=pay, p_amount=800)
    call(db, "refund_payment", p_payment_id=pay, p_amount=500)
    with raises_code("REFUND_EXCEEDS_CAPTURED"):
        call(db, "refund_payment", p_payment_id=pay, p_amount=301)


def test_lifecycle_refusals(db, rid):
    pay = authorise(db, rid, 1000)
    with raises_code("INVALID_PAYMENT_STATE"):
        call(db, "refund_payment", p_payment_id=pay)  # nothing captured
    assert scalar(db, "void_payment", p_payment_id=pay) == "voided"
    assert scalar(db, "void_payment", p_payment_id=pay) == "voided"  # a retried void
    with raises_code("INVALID_PAYMENT_STATE"):
        call(db, "capture_payment", p_payment_id=pay)
    captured = authorise(db, rid, 1000, ref="pi_2")
    call(db, "capture_payment", p_payment_id=captured)
    with raises_code("INVALID_PAYMENT_STATE"):
        call(db, "void_payment", p_payment_id=captured)
    with raises_code("PAYMENT_NOT_FOUND"):
        call(db, "capture_payment", p_payment_id=-1)


def test_a_declined_authorisation_is_recorded_as_failed(db, rid):
    pay = scalar(
        db,
        "record_payment_failure",
        p_reservation_id=rid,
        p_method="paypal",
        p_amount=5000,
        p_processor_reference="PAYID-DECLINED-1",
        p_reason="insufficient funds",
    )
    assert one(db, "select status::text from core.payments where id = %s", pay) == "failed"
    assert balance(db, rid) == 0
    with raises_code("INVALID_PAYMENT_STATE"):
        call(db, "capture_payment", p_payment_id=pay)


def test_authorisation_is_idempotent_per_processor_reference(db, rid, hotel, book):
    pay = authorise(db, rid, 1000, ref="pi_same")
    assert authorise(db, rid, 1000, ref="pi_same") == pay
    with raises_code("IDEMPOTENCY_MISMATCH"):
        authorise(db, rid, 2000, ref="pi_same")


def test_card_numbers_are_never_stored(db, rid):
    with raises_code("CARD_NUMBER_REFUSED"):
        authorise(db, rid, 1000, ref="4242 4242 4242 4242")
    folio = one(db, "select id from core.folios where reservation_id = %s", rid)
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "insert into core.payments (hotel_id, folio_id, currency, method, status, authorised_amount, "
            "processor_reference, created_at, updated_at) select hotel_id, id, currency, 'card', "
            "'preauthorised', 100, 'tok-5555555555554444', now(), now() from core.folios where id = %s",
            (folio,),
        )
    assert authorise(db, rid, 1000, ref="ch_3MmlLrLkdIwHu7ix0snN0B15")  # a processor reference is fine


def test_input_refusals(db, rid, make_hotel, book):
    with raises_code("CURRENCY_MISMATCH"):
        call(
            db,
            "post_charge",
            p_reservation_id=rid,
            p_kind="service",
            p_amount=100,
            p_description="x",
            p_currency="USD",
        )
    with raises_code("INVALID_ARGUMENT"):  # JPY has no minor units
        call(
            db,
            "post_charge",
            p_reservation_id=rid,
            p_kind="service",
            p_amount=Decimal("10.5"),
            p_description="x",
        )
    for kind, amount in (("room_night", 100), ("payment", 100), ("service", 0), ("service", -5)):
        with raises_code("INVALID_ARGUMENT"):
            call(db, "post_charge", p_reservation_id=rid, p_kind=kind, p_amount=amount, p_description="x")
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "authorise_payment",
            p_reservation_id=rid,
            p_method="bitcoin",
            p_amount=100,
            p_processor_reference="r",
        )
    with raises_code("INVALID_ARGUMENT"):  # a card payment needs the processor's reference
        call(db, "authorise_payment", p_reservation_id=rid, p_method="card", p_amount=100)
    with raises_code("RESERVATION_NOT_FOUND"):
        call(db, "post_charge", p_reservation_id=-1, p_kind="service", p_amount=100, p_description="x")


def test_cents_are_kept_in_a_two_decimal_currency(db, make_hotel, book):
    usd = make_hotel(currency="USD", time_zone="America/New_York")
    rid = book(usd, 1, 1)
    call(
        db,
        "post_charge",
        p_reservation_id=rid,
        p_kind="service",
        p_amount=Decimal("12.34"),
        p_description="bar",
    )
    assert balance(db, rid) == Decimal("12.34")
    with raises_code("INVALID_ARGUMENT"):
        call(
            db,
            "post_charge",
            p_reservation_id=rid,
            p_kind="service",
            p_amount=Decimal("1.001"),
            p_description="x",
        )


def test_a_reservation_without_folio_is_folio_not_found(db, rid):
    db.execute("delete from core.folios where reservation_id = %s", (rid,))
    with raises_code("FOLIO_NOT_FOUND"):
        call(db, "post_charge", p_reservation_id=rid, p_kind="service", p_amount=100, p_description="x")


def test_a_cancellation_fee_lands_on_the_folio(db, hotel, book):
    rid = book(hotel, 0, 2)  # arrival today: the flexible policy charges the first night
    fee = call(db, "cancel_reservation", p_reservation_id=rid)[0]["fee_amount"]
    assert fee > 0
    assert db.execute(
        "select kind::text, amount from core.folio_lines f join core.folios o on o.id = f.folio_id "
        "where o.reservation_id = %s",
        (rid,),
    ).fetchall() == [("cancellation_fee", fee)]
