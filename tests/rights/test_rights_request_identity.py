"""The request's identity comes from api.authenticate, never from a setting a client writes.

Attacks: a PMS login limited to hotel B, holding a PMS key of hotel B, names hotel A's member key
in the setting hotelcore.api_key_id and stores a forged answer in that key's in-flight idempotency
record (the victim's retry would replay it), or deletes it through the 503 branch; a client writes
the signed identity setting by hand, or carries a valid one into its next transaction. Before,
the first two went through (records were matched by a setting any session can set).
"""

from __future__ import annotations

import hashlib

import psycopg
import pytest

from tests.support.errors import raises_code
from tests.support.rights import World, issue_key, request

FINGERPRINT = hashlib.sha256(b"POST /api/booking/checkout {...}").digest()


@pytest.fixture
def victim_record(db: psycopg.Connection, world: World, connect_as) -> tuple[int, int, str]:
    """Hotel A's member key starts an idempotent request through the pooled login: (key id,
    record id, token). The record is left in progress, as while its checkout runs."""
    key_id, token = issue_key(db, "member", [world.a.id])
    pool = connect_as("pool")
    request(pool, token)
    record = pool.execute(
        "select idempotency_key_id from api.begin_idempotent('retry-me', %s)", (FINGERPRINT,)
    ).fetchone()[0]
    pool.commit()
    return key_id, record, token


@pytest.fixture
def attacker(db: psycopg.Connection, world: World, connect_as) -> psycopg.Connection:
    """A PMS login limited to hotel B, in a request of its own PMS key of hotel B."""
    pms = connect_as("pms")
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (pms.info.user, world.b.id)
    )
    _, token = issue_key(db, "pms", [world.b.id])
    request(pms, token)
    return pms


def test_another_keys_record_cannot_be_completed_with_a_forged_answer(
    db: psycopg.Connection, victim_record, attacker: psycopg.Connection, connect_as
) -> None:
    key_id, record, token = victim_record
    attacker.execute("select set_config('hotelcore.api_key_id', %s, true)", (str(key_id),))
    with raises_code("IDEMPOTENCY_RECORD_NOT_FOUND"):  # as for an unknown id
        attacker.execute("select api.complete_idempotent(%s, 201, %s)", (record, b'{"data": "forged"}'))
    attacker.rollback()
    assert db.execute(
        "select status, response_body from core.idempotency_keys where id = %s", (record,)
    ).fetchone() == (
        "in_progress",
        None,
    )
    # the victim's retry is still waiting for its own answer, not replaying a forged one
    pool = connect_as("pool")
    request(pool, token)
    with raises_code("IDEMPOTENCY_IN_PROGRESS"):
        pool.execute("select * from api.begin_idempotent('retry-me', %s)", (FINGERPRINT,))
    pool.rollback()


def test_another_keys_in_flight_record_cannot_be_deleted(
    db: psycopg.Connection, victim_record, attacker: psycopg.Connection
) -> None:
    key_id, record, _ = victim_record
    attacker.execute("select set_config('hotelcore.api_key_id', %s, true)", (str(key_id),))
    with raises_code("IDEMPOTENCY_RECORD_NOT_FOUND"):
        attacker.execute("select api.complete_idempotent(%s, 503, %s)", (record, b"try later"))
    attacker.rollback()
    assert (
        db.execute("select count(*) from core.idempotency_keys where id = %s", (record,)).fetchone()[0] == 1
    )


def test_a_login_outside_a_request_completes_no_record(
    db: psycopg.Connection, victim_record, connect_as
) -> None:
    """No request at all, the victim's key named in the setting: the member login gets nothing."""
    key_id, record, _ = victim_record
    member = connect_as("member")
    member.execute("select set_config('hotelcore.api_key_id', %s, true)", (str(key_id),))
    with raises_code("IDEMPOTENCY_RECORD_NOT_FOUND"):
        member.execute("select api.complete_idempotent(%s, 201, %s)", (record, b"forged"))
    member.rollback()


def test_the_identity_setting_cannot_be_written_or_carried_over(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    _, token = issue_key(db, "pms", [world.b.id])
    pms = connect_as("pms")
    # written by hand: a well-formed value for hotel A, signed with nothing the client knows
    pms.execute(
        "select set_config('hotelcore.request', %s, true)", ("0" * 64 + ":1/pms/" + str(world.a.id) + "/",)
    )
    with raises_code("AUTHENTICATION_FAILED"):
        pms.execute("select count(*) from api.inventory_calendar").fetchone()
    pms.rollback()
    # a value api.authenticate recorded, carried into the next transaction
    request(pms, token)
    value = pms.execute("select current_setting('hotelcore.request')").fetchone()[0]
    assert {r[0] for r in pms.execute("select distinct hotel_id from api.inventory_calendar").fetchall()} == {
        world.b.id
    }
    pms.commit()
    pms.execute("select set_config('hotelcore.request', %s, true)", (value,))
    with raises_code("AUTHENTICATION_FAILED"):
        pms.execute("select count(*) from api.inventory_calendar").fetchone()
    pms.rollback()
