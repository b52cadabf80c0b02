"""Customers and hotel scope. The customer master is chain-wide for hotel-member; a PMS (or saas)
login limited to some hotels reads any customer (a front desk looks up an arriving member) but
changes only the customers with a reservation in its hotels, or the guest profiles created for one
of them, and api.find_or_create_guest gives it no e-mail -> customer id directory. Hotel B's PMS
attacks a guest who only ever stayed at hotel A."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import raises_code
from tests.support.rights import World
from tests.support.sql import scalar


@pytest.fixture
def yui(db: psycopg.Connection, world: World) -> int:
    """A member who has stayed at hotel A only."""
    customer = scalar(
        db,
        "create_customer",
        p_given_name="Yui",
        p_family_name="Tanaka",
        p_email="yui@example.com",
        p_city="Kobe",
    )["id"]
    scalar(
        db,
        "book_reservation",
        p_hotel_id=world.a.id,
        p_room_type_id=world.a.room_type,
        p_rate_plan_id=world.a.rate_plan,
        p_check_in=world.a.day(12),
        p_check_out=world.a.day(13),
        p_customer_id=customer,
    )
    return customer


def limit_to(db: psycopg.Connection, login: str, hotel: int) -> None:
    db.execute("insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (login, hotel))


def update(conn: psycopg.Connection, customer: int, changes: dict, function: str = "update_customer"):
    version = scalar(conn, "get_customer", p_customer_id=customer)["version"]
    return scalar(
        conn, function, p_customer_id=customer, p_expected_version=version, p_changes=Jsonb(changes)
    )


def refused(conn: psycopg.Connection, error: str, fn, *args, **kwargs) -> psycopg.Error:
    """fn(*args, **kwargs) fails with the registry's ``error``; the transaction is rolled back."""
    try:
        with raises_code(error) as excinfo:
            fn(*args, **kwargs)
    finally:
        conn.rollback()
    return excinfo.value


def test_hotel_b_pms_reads_but_cannot_rewrite_a_guest_of_hotel_a(
    db: psycopg.Connection, world: World, yui: int, logins, connect_as
) -> None:
    limit_to(db, logins["pms"], world.b.id)
    pms = connect_as("pms")
    assert scalar(pms, "get_customer", p_customer_id=yui)["city"] == "Kobe"
    pms.rollback()
    for function in ("update_customer", "update_customer_basic"):
        error = refused(
            pms,
            "PERMISSION_DENIED",
            update,
            pms,
            yui,
            {"address_line1": "1-1 Umeda", "city": "Osaka"},
            function,
        )
        assert "customer.update" in error.diag.message_detail
    assert db.execute("select city, address_line1 from core.customers where id = %s", (yui,)).fetchone() == (
        "Kobe",
        None,
    )
    # the guest of both hotels is hotel B's guest too: its desk corrects the address
    assert update(pms, world.customer, {"city": "Nagoya"})["city"] == "Nagoya"
    pms.commit()


def test_hotel_member_changes_the_customer_master_chain_wide(
    db: psycopg.Connection, world: World, yui: int, logins, connect_as
) -> None:
    limit_to(db, logins["member"], world.b.id)
    member = connect_as("member")
    assert update(member, yui, {"city": "Osaka"})["city"] == "Osaka"
    member.commit()


def test_find_or_create_guest_is_no_email_directory_for_a_scoped_pms(
    db: psycopg.Connection, world: World, yui: int, logins, connect_as
) -> None:
    limit_to(db, logins["pms"], world.b.id)
    pms = connect_as("pms")
    # an e-mail alone does not give the customer's id
    error = refused(
        pms,
        "GUEST_NAME_MISMATCH",
        scalar,
        pms,
        "find_or_create_guest",
        p_given_name="Any",
        p_family_name="Body",
        p_email="YUI@example.com",
        p_hotel_id=world.b.id,
    )
    text = " ".join(filter(None, (str(error), error.diag.message_detail, error.diag.message_hint)))
    assert str(yui) not in text
    # the arriving guest who gives her names and e-mail is found
    found = scalar(
        pms,
        "find_or_create_guest",
        p_given_name="yui",
        p_family_name="TANAKA",
        p_email="yui@example.com",
        p_hotel_id=world.b.id,
    )
    assert found == yui
    pms.rollback()
    # and still not changed by hotel B until she books there
    refused(pms, "PERMISSION_DENIED", update, pms, yui, {"city": "Osaka"})
    # another hotel than its own is not found
    refused(
        pms,
        "HOTEL_NOT_FOUND",
        scalar,
        pms,
        "find_or_create_guest",
        p_given_name="A",
        p_family_name="B",
        p_hotel_id=world.a.id,
    )


def test_a_scoped_pms_changes_the_walk_in_it_created_but_not_another_hotels(
    db: psycopg.Connection, world: World, logins, connect_as
) -> None:
    made_for_a = scalar(
        db, "find_or_create_guest", p_given_name="Ren", p_family_name="Abe", p_hotel_id=world.a.id
    )
    limit_to(db, logins["pms"], world.b.id)
    pms = connect_as("pms")
    # its hotel is implied when it has one
    walk_in = scalar(
        pms, "find_or_create_guest", p_given_name="Sora", p_family_name="Ito", p_email="sora@example.com"
    )
    pms.commit()
    assert db.execute(
        "select created_for_hotel_id from core.customers where id = %s", (walk_in,)
    ).fetchone() == (world.b.id,)
    assert update(pms, walk_in, {"phone": "+81312345678"})["phone_e164"] == "+81312345678"
    pms.commit()
    refused(pms, "PERMISSION_DENIED", update, pms, made_for_a, {"city": "Osaka"})


def test_a_pooled_pms_request_of_hotel_b_cannot_rewrite_hotel_as_guest(
    db: psycopg.Connection, world: World, yui: int, connect_as
) -> None:
    """The HTTP layer's way: hotel B's PMS API key, authenticated on the pool login."""
    token = db.execute(
        "select token from api.issue_api_key('pms', %s, 'front desk B')", ([world.b.id],)
    ).fetchone()[0]
    pool = connect_as("pool")

    def request() -> None:
        pool.execute("select set_config('role', a.db_role, true) from api.authenticate(%s) a", (token,))

    request()
    refused(pool, "PERMISSION_DENIED", update, pool, yui, {"city": "Osaka"})
    request()
    assert scalar(pool, "get_customer", p_customer_id=yui)["email"] == "yui@example.com"
    pool.rollback()
