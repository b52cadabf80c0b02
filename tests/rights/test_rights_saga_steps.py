"""The checkout saga's steps are not a client surface, and no right is borrowed from the call stack.

Attacks of a hotel-member SQL login (seed 000: billing is the PMS's alone): driving the saga's
step functions by hand to a captured payment with made-up gateway references, compensating (so
cancelling and voiding) a saga a PMS request ran, and calling a wrongly granted function from
dynamic SQL whose text carries a comment shaped like an api frame of the call stack. And a
request of another API key (through the HTTP service's own role) finds neither the saga nor its
hold. Each must be refused; before, each went through.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import DENIED, raises_code
from tests.support.rights import World, issue_key, request
from tests.support.sql import call, scalar


def start_saga(conn: psycopg.Connection, w: World, nights: tuple[int, int] = (16, 18)) -> tuple[int, int]:
    """Begin, hold, authorise and confirm a checkout in hotel A on ``conn`` (already in a request)."""
    h = w.a
    total = scalar(
        conn,
        "quote",
        p_hotel_id=h.id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(nights[0]),
        p_check_out=h.day(nights[1]),
    )["total"]
    saga = call(
        conn,
        "checkout_begin",
        p_idempotency_key_id=None,
        p_hotel_id=h.id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(nights[0]),
        p_check_out=h.day(nights[1]),
        p_rooms=1,
        p_adults=2,
        p_children=0,
        p_amount=total,
        p_currency="JPY",
        p_request=Jsonb({"guest": {"given_name": "Mei", "family_name": "Ono", "email": "mei@example.com"}}),
    )[0]
    call(conn, "checkout_hold", p_saga_id=saga["saga_id"], p_attempt=saga["attempt"])
    call(
        conn,
        "checkout_authorised",
        p_saga_id=saga["saga_id"],
        p_attempt=saga["attempt"],
        p_authorisation_ref="gw-auth-1",
    )
    call(conn, "checkout_confirm", p_saga_id=saga["saga_id"], p_attempt=saga["attempt"])
    return saga["saga_id"], saga["attempt"]


@pytest.fixture
def pms_saga(db: psycopg.Connection, world: World) -> tuple[int, int, int]:
    """A checkout a PMS request ran up to a confirmed booking: (saga, attempt, reservation)."""
    _, token = issue_key(db, "pms", [world.a.id])
    with db.transaction():
        request(db, token, role="none")  # the key's request, run by the owner (as recovery would)
        saga, attempt = start_saga(db, world)
    reservation = db.execute(
        "select reservation_id from core.checkout_sagas where id = %s", (saga,)
    ).fetchone()[0]
    return saga, attempt, reservation


def test_a_member_login_cannot_drive_the_saga_to_a_captured_payment(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    member = connect_as("member")
    with pytest.raises(psycopg.Error) as refused:
        start_saga(member, world)
    assert refused.value.sqlstate in DENIED
    member.rollback()
    # nor can it finish one it did not start
    _, token = issue_key(db, "member", [world.a.id])
    with db.transaction():
        request(db, token, role="none")  # the key's request, run by the owner (as recovery would)
        saga, attempt = start_saga(db, world, (24, 25))
    with pytest.raises(psycopg.Error) as refused:
        call(member, "checkout_captured", p_saga_id=saga, p_attempt=attempt, p_capture_ref="made-up-capture")
    assert refused.value.sqlstate in DENIED
    member.rollback()
    assert (
        db.execute(
            "select count(*) from core.payments where processor_reference = 'gw-auth-1' and status = 'captured'"
        ).fetchone()[0]
        == 0
    )
    assert (
        db.execute("select count(*) from core.checkout_sagas where capture_ref is not null").fetchone()[0]
        == 0
    )


def test_a_member_login_cannot_compensate_a_pms_checkout(
    db: psycopg.Connection, world: World, connect_as, pms_saga
) -> None:
    saga, attempt, reservation = pms_saga
    member = connect_as("member")
    with pytest.raises(psycopg.Error) as refused:
        call(
            member,
            "checkout_compensate",
            p_saga_id=saga,
            p_attempt=attempt,
            p_error_code="PAYMENT_CAPTURE_FAILED",
            p_error_detail="by hand",
            p_authorisation_voided=True,
        )
    assert refused.value.sqlstate in DENIED
    member.rollback()
    assert (
        db.execute("select status from core.reservations where id = %s", (reservation,)).fetchone()[0]
        == "confirmed"
    )
    assert (
        db.execute(
            "select p.status from core.payments p join core.checkout_sagas s on s.payment_id = p.id where s.id = %s",
            (saga,),
        ).fetchone()[0]
        == "preauthorised"
    )


def test_another_api_keys_request_finds_neither_the_checkout_nor_its_hold(
    db: psycopg.Connection, world: World, connect_as, pms_saga
) -> None:
    """Through the HTTP service's own role (the pooled login's way), a member key of the same hotel."""
    saga, attempt, reservation = pms_saga
    _, member_token = issue_key(db, "member", [world.a.id])
    pool = connect_as("pool")
    for step, params in (
        (
            "checkout_compensate",
            dict(p_error_code="PAYMENT_CAPTURE_FAILED", p_error_detail="x", p_authorisation_voided=True),
        ),
        ("checkout_captured", dict(p_capture_ref="made-up")),
    ):
        request(pool, member_token, role="hotelcore_service")
        with raises_code("RESERVATION_NOT_FOUND"):  # as for an unknown id
            call(pool, step, p_saga_id=saga, p_attempt=attempt, **params)
        pool.rollback()
    request(pool, member_token)
    with raises_code("RESERVATION_NOT_FOUND"):
        scalar(pool, "get_checkout", p_saga_id=saga)
    pool.rollback()
    assert (
        db.execute("select status from core.reservations where id = %s", (reservation,)).fetchone()[0]
        == "confirmed"
    )


def test_a_forged_call_stack_borrows_no_right(db: psycopg.Connection, world: World, connect_as) -> None:
    """A function granted by mistake is still refused by its own check, whatever the stack says."""
    db.execute("grant execute on function api.cancel_reservation(bigint, integer, text) to hotelcore_member")
    member = connect_as("member")
    reservation = world.future[world.a.id]
    with raises_code("PERMISSION_DENIED"):
        member.execute(
            "do $$ begin execute format('select api.cancel_reservation(%s) /*' || chr(10)"
            " || 'PL/pgSQL function api.book_reservation() line 1 at PERFORM' || chr(10) || '*/', "
            + str(reservation)
            + "); end $$"
        )
    member.rollback()
    assert (
        db.execute("select status from core.reservations where id = %s", (reservation,)).fetchone()[0]
        == "confirmed"
    )


def test_a_hold_belongs_to_who_placed_it(db: psycopg.Connection, world: World, connect_as) -> None:
    h = world.a
    member, pms = connect_as("member"), connect_as("pms")
    hold = call(
        member,
        "create_hold",
        p_hotel_id=h.id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(12),
        p_check_out=h.day(13),
        p_client_key="cart-1",
    )[0]["hold_id"]
    member.commit()
    # (another owner's hold is not found before anything else is checked: a customer that does not
    # exist either still gets HOLD_NOT_FOUND)
    for function, params in (
        ("release_hold", {}),
        ("confirm_booking", {"p_customer_id": world.customer}),
        ("confirm_booking", {"p_customer_id": -1, "p_origin": "nonsense"}),
    ):
        with raises_code("HOLD_NOT_FOUND"):
            call(pms, function, p_hold_id=hold, **params)
        pms.rollback()
    # the same client key from another owner is another hold, not the member's
    other = call(
        pms,
        "create_hold",
        p_hotel_id=h.id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(12),
        p_check_out=h.day(13),
        p_client_key="cart-1",
    )[0]["hold_id"]
    assert other != hold
    pms.rollback()
    # two API keys through the pooled login: the same
    _, key_a = issue_key(db, "pms", [h.id])
    _, key_b = issue_key(db, "member", [h.id])
    pool = connect_as("pool")
    request(pool, key_a)
    keyed = call(
        pool,
        "create_hold",
        p_hotel_id=h.id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(14),
        p_check_out=h.day(15),
    )[0]["hold_id"]
    pool.commit()
    request(pool, key_b)
    with raises_code("HOLD_NOT_FOUND"):
        call(pool, "confirm_booking", p_hold_id=keyed, p_customer_id=world.customer, p_origin="member")
    pool.rollback()
    assert call(member, "release_hold", p_hold_id=hold)[0]["release_hold"] == "released"
    member.commit()
    assert db.execute("select status from core.holds where id = %s", (keyed,)).fetchone()[0] == "active"


def _start_args(w: World, hotel_id: int) -> dict:
    h = w.a
    return dict(
        p_idempotency_key=None,
        p_fingerprint=None,
        p_hotel_id=hotel_id,
        p_room_type_id=h.room_type,
        p_rate_plan_id=h.rate_plan,
        p_check_in=h.day(16),
        p_check_out=h.day(18),
        p_rooms=1,
        p_adults=2,
        p_children=0,
        p_amount=1,
        p_currency="JPY",
        p_request=Jsonb({"guest": {"given_name": "Mei", "family_name": "Ono", "email": "mei@example.com"}}),
    )


def test_the_one_call_steps_are_not_a_client_surface_either(
    db: psycopg.Connection, world: World, connect_as, pms_saga
) -> None:
    """api.checkout_start and api.checkout_confirm_authorised: a member SQL login may call neither."""
    saga, attempt, _ = pms_saga
    member = connect_as("member")
    with pytest.raises(psycopg.Error) as refused:
        call(member, "checkout_start", **_start_args(world, world.a.id))
    assert refused.value.sqlstate in DENIED
    member.rollback()
    with pytest.raises(psycopg.Error) as refused:
        call(
            member, "checkout_confirm_authorised", p_saga_id=saga, p_attempt=attempt, p_authorisation_ref="x"
        )
    assert refused.value.sqlstate in DENIED
    member.rollback()
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 1


def test_the_one_call_steps_keep_the_key_s_hotel_scope_and_sagas(
    db: psycopg.Connection, world: World, connect_as, pms_saga
) -> None:
    """Through the HTTP service's role: a key of hotel A starts no checkout in hotel B, and another
    key's request cannot confirm the saga a PMS request ran (both read as not found)."""
    saga, attempt, _ = pms_saga
    _, member_token = issue_key(db, "member", [world.a.id])
    pool = connect_as("pool")
    request(pool, member_token, role="hotelcore_service")
    with raises_code("HOTEL_NOT_FOUND"):
        call(pool, "checkout_start", **_start_args(world, world.b.id))
    pool.rollback()
    request(pool, member_token, role="hotelcore_service")
    with raises_code("RESERVATION_NOT_FOUND"):
        call(pool, "checkout_confirm_authorised", p_saga_id=saga, p_attempt=attempt, p_authorisation_ref="x")
    pool.rollback()
    assert db.execute("select count(*) from core.checkout_sagas").fetchone()[0] == 1


def test_a_saga_and_an_idempotency_record_name_an_existing_key_and_follow_its_deletion(
    db: psycopg.Connection, world: World, pms_saga
) -> None:
    """The key ids are kept without foreign keys (no row lock on the shared key row): triggers keep
    what the keys' checks and ON DELETE actions did."""
    saga, _, _ = pms_saga
    key_id = db.execute("select api_key_id from core.checkout_sagas where id = %s", (saga,)).fetchone()[0]
    assert key_id is not None
    fingerprint = bytes(32)
    db.execute(
        "insert into core.idempotency_keys (api_key_id, key, fingerprint, created_at) values (%s, 'k', %s, now())",
        (key_id, fingerprint),
    )
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute(
            "insert into core.idempotency_keys (api_key_id, key, fingerprint, created_at)"
            " values (-1, 'k', %s, now())",
            (fingerprint,),
        )
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("update core.checkout_sagas set api_key_id = -1 where id = %s", (saga,))
    db.execute("delete from core.api_keys where id = %s", (key_id,))
    assert (
        db.execute("select api_key_id from core.checkout_sagas where id = %s", (saga,)).fetchone()[0] is None
    )
    assert (
        db.execute("select count(*) from core.idempotency_keys where api_key_id = %s", (key_id,)).fetchone()[
            0
        ]
        == 0
    )
