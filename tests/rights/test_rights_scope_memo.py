"""The request's hotel scope is decided once, by api.authenticate, and kept for the transaction in a
memo (hotelcore.request_scope) tagged for the login, the transaction, the backend and the signed
identity with keys only the owner reads. Attacks: a PMS login in a request of its key of hotel B
writes the memo by hand (every hotel, or hotel A), carries a memo from another transaction or from
another session whose key saw both hotels, signs a memo with keys of its own behind a temporary
table shadowing the key table, re-authenticates with a narrower key, and asks through SECURITY
DEFINER api functions. A memo that were a plain setting, keyed by the login alone, or checked
against a name a temporary object can shadow would let each of them see hotel A."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from psycopg import sql

from tests.support.errors import raises_code
from tests.support.rights import World, issue_key, request

SCOPED = "select coalesce(array_agg(distinct hotel_id order by hotel_id), '{}') from api.inventory_calendar"


def _seen(conn: psycopg.Connection) -> list[int]:
    return conn.execute(SCOPED).fetchone()[0]


def _memo(conn: psycopg.Connection) -> str:
    return conn.execute("select current_setting('hotelcore.request_scope', true)").fetchone()[0]


def _set_memo(conn: psycopg.Connection, value: str) -> None:
    conn.execute("select set_config('hotelcore.request_scope', %s, true)", (value,))


def _payload_checks(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "select calls from pg_catalog.pg_stat_xact_user_functions"
        " where schemaname = 'core' and funcname = 'request_payload'"
    ).fetchone()
    return 0 if row is None else row[0]


@pytest.fixture
def keys(db: psycopg.Connection, world: World) -> dict[str, str]:
    return {
        "both": issue_key(db, "pms", [world.a.id, world.b.id])[1],
        "b": issue_key(db, "pms", [world.b.id])[1],
    }


def test_the_scope_is_decided_once_per_request(
    db: psycopg.Connection, world: World, keys, connect_as
) -> None:
    # function statistics for the login's sessions (a superuser's setting)
    db.execute(
        sql.SQL("alter database {} set track_functions = 'all'").format(sql.Identifier(db.info.dbname))
    )
    if not db.autocommit:
        db.commit()
    pms = connect_as("pms")
    request(pms, keys["b"])
    assert _memo(pms).endswith(f":{world.b.id}")
    checks = _payload_checks(pms)
    for _ in range(5):
        assert _seen(pms) == [world.b.id]
    assert _payload_checks(pms) == checks  # the memo answered: the signature was not checked again
    pms.rollback()


def test_a_memo_written_by_hand_is_ignored(world: World, keys, connect_as) -> None:
    pms = connect_as("pms")
    request(pms, keys["b"])
    tag = _memo(pms)[:64]
    for forged in (
        "0" * 64 + ":*",
        f"{tag}:*",
        f"{tag}:{world.a.id}",
        f"{tag}:{world.a.id},{world.b.id}",
        "*",
    ):
        _set_memo(pms, forged)
        assert _seen(pms) == [world.b.id], forged
    pms.rollback()


def test_a_memo_of_another_transaction_is_ignored(world: World, keys, connect_as) -> None:
    pms = connect_as("pms")
    request(pms, keys["both"])
    assert _seen(pms) == [world.a.id, world.b.id]
    both = _memo(pms)
    identity = pms.execute("select current_setting('hotelcore.request')").fetchone()[0]
    pms.commit()
    # the next request, of the key of hotel B, with the memo of the first
    request(pms, keys["b"])
    _set_memo(pms, both)
    assert _seen(pms) == [world.b.id]
    pms.rollback()
    # identity and memo both carried over, without api.authenticate
    pms.execute("select set_config('hotelcore.request', %s, true)", (identity,))
    _set_memo(pms, both)
    with raises_code("AUTHENTICATION_FAILED"):
        _seen(pms)
    pms.rollback()


def test_another_sessions_memo_is_ignored(world: World, keys, connect_as) -> None:
    other = connect_as("pms")  # the same login, another session, its transaction still open
    request(other, keys["both"])
    both = _memo(other)
    pms = connect_as("pms")
    request(pms, keys["b"])
    _set_memo(pms, both)
    assert _seen(pms) == [world.b.id]
    pms.rollback()
    other.rollback()


def test_a_temporary_object_shadows_nothing(world: World, keys, connect_as) -> None:
    """Keys of the client's own in a temporary table named like the owner's, first on the search
    path, and a memo signed with them by the memo's own formula: still ignored."""
    pms = connect_as("pms")
    request(pms, keys["b"])
    inner, outer = b"\x01" * 64, b"\x02" * 64
    pms.execute("create temporary table request_signing_keys (id boolean, inner_key bytea, outer_key bytea)")
    pms.execute("insert into pg_temp.request_signing_keys values (true, %s, %s)", (inner, outer))
    pms.execute("create temporary table login_hotels (role_name text, hotel_id bigint)")
    pms.execute("create temporary table request_scope (scope text)")
    pms.execute("select set_config('search_path', 'pg_temp, core, api, public', true)")
    identity, login, pid, start = pms.execute(
        "select current_setting('hotelcore.request'), session_user::text, pg_backend_pid(),"
        " (extract(epoch from now()) * 1000000)::bigint"
    ).fetchone()
    body = f"scope/*/{pid}/{identity}/{login}/{start}".encode()
    tag = hashlib.sha256(outer + hashlib.sha256(inner + body).digest()).hexdigest()
    _set_memo(pms, f"{tag}:*")
    assert _seen(pms) == [world.b.id]
    pms.rollback()


def test_a_narrower_key_in_the_same_transaction_replaces_the_scope(world: World, keys, connect_as) -> None:
    pms = connect_as("pms")
    request(pms, keys["both"])
    assert _seen(pms) == [world.a.id, world.b.id]
    both = _memo(pms)
    pms.execute("reset role")
    request(pms, keys["b"])  # authenticated again: another identity, another memo
    assert _seen(pms) == [world.b.id]
    _set_memo(pms, both)  # the first identity's memo, put back
    assert _seen(pms) == [world.b.id]
    pms.rollback()


def test_security_definer_calls_get_the_callers_scope(world: World, keys, connect_as) -> None:
    """Inside an api function current_user is the owner, who sees every hotel: the memo binds the
    login and its request, never current_user, and a forged memo is refused there too."""
    pms = connect_as("pms")
    request(pms, keys["b"])
    _set_memo(pms, "0" * 64 + ":*")
    with raises_code("HOTEL_NOT_FOUND"):
        pms.execute("select api.assert_in_scope('hotel', %s)", (world.a.id,))
    pms.rollback()
    # a SECURITY DEFINER function of the client's own, writing the memo and reading through the api
    request(pms, keys["b"])
    pms.execute(
        "create function pg_temp.widen() returns bigint[] language plpgsql security definer as $$"
        " begin perform set_config('hotelcore.request_scope', '" + "0" * 64 + ":*', true);"
        " return (select coalesce(array_agg(distinct hotel_id order by hotel_id), '{}') from api.inventory_calendar);"
        " end $$"
    )
    assert pms.execute("select pg_temp.widen()").fetchone()[0] == [world.b.id]
    pms.rollback()


def test_an_identity_altered_behind_its_signature_widens_nothing(world: World, keys, connect_as) -> None:
    """The memo's tag signs the identity by its signature: a client that keeps the signature and
    writes another payload after it (the hotels of the key of both) still sees the signed identity's
    scope through the memo, and every reader of the identity refuses the altered payload."""
    pms = connect_as("pms")
    request(pms, keys["b"])
    identity = pms.execute("select current_setting('hotelcore.request')").fetchone()[0]
    signature, payload = identity[:64], identity[65:]
    fields = payload.split("/")
    fields[2] = f"{world.a.id},{world.b.id}"
    pms.execute("select set_config('hotelcore.request', %s, true)", (signature + ":" + "/".join(fields),))
    assert _seen(pms) == [world.b.id]
    with raises_code("AUTHENTICATION_FAILED"):
        pms.execute("select * from api.begin_idempotent(%s, %s)", ("altered", b"\x00"))
    pms.rollback()


def test_values_with_characters_of_several_bytes_are_cut_where_their_tag_ends(
    world: World, keys, connect_as
) -> None:
    """The memo and the identity are cut after their first 65 characters (the tag and its colon):
    a forged value with characters of several bytes in or after the tag, or a colon moved, is
    ignored (memo) or refused (identity), and the genuine values still answer."""
    pms = connect_as("pms")
    request(pms, keys["b"])
    genuine = _memo(pms)
    tag, listed = genuine[:64], genuine[65:]
    for forged in (
        tag[:63] + "é:*",  # 64 characters, 65 bytes before the colon
        tag[:62] + "é:" + listed,  # the colon one character early
        tag + "é:" + listed,  # the colon one character late
        tag + ":é" + listed,
        tag + ":" + listed + f",{world.a.id}é",
    ):
        _set_memo(pms, forged)
        assert _seen(pms) == [world.b.id], forged
    _set_memo(pms, genuine)
    assert _seen(pms) == [world.b.id]
    identity = pms.execute("select current_setting('hotelcore.request')").fetchone()[0]
    for altered in (identity[:63] + "é" + identity[64:], identity[:65] + "é" + identity[65:], identity + "é"):
        pms.execute("savepoint altered")
        pms.execute("select set_config('hotelcore.request', %s, true)", (altered,))
        with raises_code("AUTHENTICATION_FAILED"):
            pms.execute("select * from api.begin_idempotent(%s, %s)", ("altered", b"\x00"))
        pms.execute("rollback to savepoint altered")
    # the genuine identity answers
    pms.execute("select * from api.begin_idempotent(%s, %s)", ("genuine", b"\x00" * 32))
    assert _seen(pms) == [world.b.id]
    pms.rollback()
