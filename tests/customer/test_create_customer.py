"""api.create_customer and api.get_customer (seed 000's customer master)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import error_name, raises_code


def test_creates_a_member_with_e164_phone_and_bronze_rank(db: psycopg.Connection):
    doc = db.execute(
        """select api.create_customer(p_given_name => '太郎', p_family_name => '田中',
               p_given_name_reading => 'タロウ', p_family_name_reading => 'タナカ',
               p_email => ' Taro.Tanaka@Example.jp ', p_phone => '090-1234-5678', p_country_code => 'jp',
               p_language => 'ja', p_marketing_consent => true, p_preferences => %s)""",
        (Jsonb({"email": True, "sms": False}),),
    ).fetchone()[0]
    assert doc["email"] == "Taro.Tanaka@Example.jp"
    assert doc["phone_e164"] == "+819012345678"
    assert doc["country_code"] == "JP"
    assert doc["family_name_reading"] == "タナカ"
    assert doc["is_member"] is True and doc["member_since"] is not None
    assert doc["rank"]["code"] == "bronze" and doc["points_balance"] == 0
    assert doc["version"] == 1
    assert db.execute("select api.get_customer(%s) ->> 'family_name'", (doc["id"],)).fetchone()[0] == "田中"


def test_phone_country_argument_beats_the_address_country(db: psycopg.Connection):
    doc = db.execute(
        "select api.create_customer('Minji', 'Kim', p_phone => '010-1234-5678', p_phone_country => 'KR', "
        "p_country_code => 'JP')"
    ).fetchone()[0]
    assert doc["phone_e164"] == "+821012345678"


def test_email_is_unique_case_insensitively(db: psycopg.Connection, customer):
    customer(email="Hana@Example.com")
    with raises_code("DUPLICATE_EMAIL"):
        customer(email="hana@EXAMPLE.com")


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"given_name": " "}, "INVALID_ARGUMENT"),
        ({"family_name": None}, "INVALID_ARGUMENT"),
        ({"email": "not-an-email"}, "INVALID_ARGUMENT"),
        ({"phone": "12-34"}, "INVALID_PHONE"),
        ({"country_code": "JPN"}, "INVALID_ARGUMENT"),
        ({"preferences": Jsonb([1, 2])}, "INVALID_ARGUMENT"),
    ],
)
def test_refuses_bad_input(customer, kw, error):
    with raises_code(error):
        customer(**kw)


def test_get_unknown_customer_is_customer_not_found(db: psycopg.Connection):
    with raises_code("CUSTOMER_NOT_FOUND"):
        db.execute("select api.get_customer(987654)")


def test_concurrent_creates_with_one_email_leave_one_customer(db: psycopg.Connection, hammer):
    def create(conn: psycopg.Connection, i: int) -> str:
        try:
            conn.execute(
                "select api.create_customer('Yuki', 'Sato', p_email => %s)",
                ("YUKI@example.com" if i % 2 else "yuki@example.com",),
            )
            return "ok"
        except psycopg.Error as e:
            return error_name(e)

    results = hammer.run(16, create)
    assert results.count("ok") == 1
    assert set(results) == {"ok", "DUPLICATE_EMAIL"}
    assert (
        db.execute("select count(*) from core.customers where lower(email) = 'yuki@example.com'").fetchone()[
            0
        ]
        == 1
    )
