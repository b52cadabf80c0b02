"""api.update_customer: patch with an optimistic version (seed 000)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import raises_code


def update(db: psycopg.Connection, customer_id: int, version: int, changes: dict) -> dict:
    return db.execute(
        "select api.update_customer(%s, %s, %s)", (customer_id, version, Jsonb(changes))
    ).fetchone()[0]


def test_updates_named_fields_and_bumps_the_version(db: psycopg.Connection, customer):
    cid = customer(country_code="KR")
    doc = update(
        db,
        cid,
        1,
        {
            "city": "Seoul",
            "phone": "010-9876-5432",
            "address_line2": None,
            "preferences": {"newsletter": False},
            "email": "New@Example.com",
        },
    )
    assert doc["city"] == "Seoul"
    assert doc["phone_e164"] == "+821098765432"  # national number read in the customer's country
    assert doc["preferences"] == {"newsletter": False}
    assert doc["email"] == "New@Example.com"
    assert doc["version"] == 2


def test_a_version_never_read_is_a_version_conflict(db: psycopg.Connection, customer):
    cid = customer()
    update(db, cid, 1, {"city": "Osaka"})
    for version in (3, 0, None):
        with raises_code("VERSION_CONFLICT"):
            update(db, cid, version, {"city": "Kyoto"})


def test_a_stale_version_goes_through_the_conflict_rules(db: psycopg.Connection, customer):
    # the rules themselves are tested in tests/conflicts/
    cid = customer()
    update(db, cid, 1, {"city": "Osaka City"})
    doc = update(db, cid, 1, {"city": "Osaka-city"})  # a small change within 5 minutes: the later wins
    assert doc["conflict"]["verdict"] == "merged" and doc["city"] == "Osaka-city" and doc["version"] == 3


def test_email_of_another_customer_is_refused(db: psycopg.Connection, customer):
    customer(email="taken@example.com")
    cid = customer()
    with raises_code("DUPLICATE_EMAIL"):
        update(db, cid, 1, {"email": "TAKEN@example.com"})


def test_own_email_in_another_case_is_allowed(db: psycopg.Connection, customer):
    cid = customer(email="mine@example.com")
    assert update(db, cid, 1, {"email": "MINE@example.com"})["email"] == "MINE@example.com"


def test_joining_sets_member_since_and_leaving_clears_it(db: psycopg.Connection, customer):
    cid = customer(is_member=False)
    assert update(db, cid, 1, {"is_member": True})["member_since"] is not None
    assert update(db, cid, 2, {"is_member": False})["member_since"] is None


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"rank_code": "platinum"},
            "INVALID_ARGUMENT",
        ),  # not updatable here: api.set_customer_rank
        ({"given_name": None}, "INVALID_ARGUMENT"),
        ({"family_name": "  "}, "INVALID_ARGUMENT"),
        ({"marketing_consent": "yes"}, "INVALID_ARGUMENT"),
        ({"preferences": "dark"}, "INVALID_ARGUMENT"),
        ({"phone": "abc"}, "INVALID_PHONE"),
        ({"email": "x@"}, "INVALID_ARGUMENT"),
    ],
)
def test_refuses_bad_changes(db: psycopg.Connection, customer, changes, error):
    cid = customer()
    with raises_code(error):
        update(db, cid, 1, changes)


def test_unknown_customer_is_customer_not_found(db: psycopg.Connection):
    with raises_code("CUSTOMER_NOT_FOUND"):
        update(db, 424242, 1, {"city": "Nara"})
