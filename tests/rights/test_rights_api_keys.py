"""API keys expire, record their last use and rotate with a grace period.

The attack: a key that leaked stayed valid for ever. Now a key may carry an expiry
(AUTHENTICATION_FAILED after it), a rotation issues a new key while the old one works for a grace
period only, and last_used_at tells an operator which keys are still in use. Key administration
stays with the chain (hotelcore_admin): a system's login can neither rotate nor list keys.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.support.errors import DENIED, raises_code, sqlstate
from tests.support.rights import World, issue_key, request


def authenticates(conn: psycopg.Connection, token: str) -> bool:
    try:
        request(conn, token)
        return True
    except psycopg.Error as exc:
        assert exc.sqlstate == sqlstate("AUTHENTICATION_FAILED"), exc
        return False
    finally:
        conn.rollback()


def test_an_expired_key_is_refused(db: psycopg.Connection, world: World, connect_as) -> None:
    now = db.execute("select internal.now()").fetchone()[0]
    key_id, token = db.execute(
        "select api_key_id, token from api.issue_api_key('pms', %s, 'short', %s)",
        ([world.a.id], now + dt.timedelta(hours=1)),
    ).fetchone()
    pool = connect_as("pool")
    assert authenticates(pool, token)
    db.execute("select internal.shift_clock('2 hours')")
    assert not authenticates(pool, token)
    status = db.execute("select status from api.list_api_keys() where api_key_id = %s", (key_id,)).fetchone()[
        0
    ]
    assert status == "expired"


def test_rotation_keeps_the_old_key_for_the_grace_period_only(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    old_id, old = issue_key(db, "member", [world.a.id, world.b.id], "booking site")
    new_id, new, until = db.execute(
        "select api_key_id, token, old_key_expires_at from api.rotate_api_key(%s, interval '1 hour')",
        (old_id,),
    ).fetchone()
    pool = connect_as("pool")
    assert authenticates(pool, old) and authenticates(pool, new)
    keys = {
        r[0]: r
        for r in db.execute(
            "select api_key_id, system, label, hotel_ids, replaces_id, status from api.list_api_keys()"
        )
    }
    assert keys[new_id][1:] == ("member", "booking site", [world.a.id, world.b.id], old_id, "active")
    db.execute("select internal.shift_clock('61 minutes')")
    assert not authenticates(pool, old)
    assert authenticates(pool, new)
    # an expired key cannot be rotated again
    with raises_code("API_KEY_NOT_FOUND"):
        db.execute("select * from api.rotate_api_key(%s)", (old_id,))
    assert until is not None


def test_last_use_is_recorded(db: psycopg.Connection, world: World, connect_as) -> None:
    key_id, token = issue_key(db, "saas", [world.a.id])
    assert db.execute("select last_used_at from core.api_keys where id = %s", (key_id,)).fetchone()[0] is None
    pool = connect_as("pool")
    request(pool, token)
    pool.commit()
    used = db.execute("select last_used_at from core.api_keys where id = %s", (key_id,)).fetchone()[0]
    assert used is not None


@pytest.mark.parametrize("system", ["member", "pms", "saas"])
def test_a_systems_login_cannot_rotate_or_list_keys(
    db: psycopg.Connection, world: World, connect_as, system: str
) -> None:
    key_id, _ = issue_key(db, system, [world.a.id])
    conn = connect_as(system)
    for query in (
        "select * from api.rotate_api_key(%s)",
        "select * from api.list_api_keys() where api_key_id = %s",
    ):
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(query, (key_id,))
        assert refused.value.sqlstate in DENIED
        conn.rollback()


def test_recording_the_last_use_never_waits_for_another_request(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    """Every request of a key may record its use; one whose transaction is still open holds the
    key's row, and the next request of the same key goes on without waiting for it."""
    key_id, token = issue_key(db, "pms", [world.a.id])
    first, second = connect_as("pool"), connect_as("pool")
    request(first, token)  # records the first use and keeps the row locked until commit
    second.execute("set lock_timeout = '500ms'")
    request(second, token)  # would wait (and time out, 55P03) if it queued behind the first
    second.commit()
    first.commit()
    assert db.execute(
        "select last_used_at is not null from core.api_keys where id = %s", (key_id,)
    ).fetchone()[0]
