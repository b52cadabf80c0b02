"""api.find_or_create_guest: bookers who do not join get a profile, found again next time."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.errors import raises_code


def guest(db: psycopg.Connection, **kw) -> int:
    args = {"p_given_name": "Jisoo", "p_family_name": "Park"} | {f"p_{k}": v for k, v in kw.items()}
    names = ", ".join(f"{k} => %({k})s" for k in args)
    return db.execute(f"select api.find_or_create_guest({names})", args).fetchone()[0]


def test_creates_a_guest_profile_that_is_not_a_member(db: psycopg.Connection):
    gid = guest(db, email="jisoo@example.kr")
    doc = db.execute("select api.get_customer(%s)", (gid,)).fetchone()[0]
    assert doc["is_member"] is False and doc["member_since"] is None


def test_same_email_in_any_case_is_the_same_customer(db: psycopg.Connection, customer):
    cid = customer(email="Member@Example.com")
    assert guest(db, email="member@example.COM") == cid


def test_without_email_the_same_phone_and_names_are_the_same_customer(db: psycopg.Connection):
    first = guest(db, phone="+82 10 5555 6666")
    assert guest(db, phone="010-5555-6666", phone_country="KR", given_name="JISOO") == first
    assert guest(db, phone="010-5555-6666", phone_country="KR", given_name="Minho") != first


def test_national_phone_is_read_in_the_hotel_country(db: psycopg.Connection, hotel):
    gid = guest(db, phone="090-1111-2222", hotel_id=hotel["id"])
    assert (
        db.execute("select phone_e164 from core.customers where id = %s", (gid,)).fetchone()[0]
        == "+819011112222"
    )


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"family_name": ""}, "INVALID_ARGUMENT"),
        ({"phone": "090"}, "INVALID_PHONE"),
        ({"email": "nope"}, "INVALID_ARGUMENT"),
    ],
)
def test_refuses_bad_input(db: psycopg.Connection, kw, error):
    with raises_code(error):
        guest(db, **kw)


def test_concurrent_bookers_with_one_email_share_one_profile(db: psycopg.Connection, hammer):
    ids = hammer.run(16, lambda conn, i: guest(conn, email="rush@example.com"))
    assert len(set(ids)) == 1
    assert (
        db.execute("select count(*) from core.customers where email = 'rush@example.com'").fetchone()[0] == 1
    )
