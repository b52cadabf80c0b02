"""Client timeouts: a client system's login cannot hold locks on the ledger with a forgotten open
transaction or a runaway query. Each client login gets its system's statement_timeout and
idle_in_transaction_session_timeout (internal.client_timeouts: API systems short, BI long), which
the login or the connection may override. PostgreSQL 17+ applies them at login (an event trigger);
on 15-16 they are written on the logins (internal.apply_client_timeouts, as each migration does)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql

from tests.support.rights import PASSWORD, World


@pytest.fixture
def timeouts(db: psycopg.Connection, logins) -> dict[str, tuple[str, str]]:
    if db.info.server_version < 170000:
        # no login event triggers: what a migration does for the logins it finds
        db.execute("select internal.apply_client_timeouts()")
    return {
        system: (statement, idle)
        for system, statement, idle in db.execute(
            "select system, statement_timeout, idle_in_transaction_session_timeout from internal.client_timeouts()"
        ).fetchall()
    }


def shown(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute(
        "select current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')"
    ).fetchone()
    conn.rollback()
    return row


def test_every_client_system_gets_its_timeouts_bi_the_longest(timeouts, connect_as) -> None:
    for system in ("member", "pms", "saas", "bi"):
        assert shown(connect_as(system)) == timeouts[system], system
    to_ms = {"10s": 10_000, "15s": 15_000, "5min": 300_000, "10min": 600_000}
    assert to_ms[timeouts["bi"][0]] > to_ms[timeouts["pms"][0]]
    assert to_ms[timeouts["bi"][1]] > to_ms[timeouts["pms"][1]]
    # unrestricted logins (the scheduled jobs; the HTTP pool, a member of hotelcore_admin) are not limited
    assert shown(connect_as("admin")) == ("0", "0")


def test_a_pms_login_cannot_sit_on_an_open_transaction(world: World, timeouts, connect_as) -> None:
    """The attack: open a transaction on the ledger and leave it open. The server ends the session
    once the PMS's idle limit passes (waits that long: 15 s)."""
    pms = connect_as("pms")
    limit = pms.execute(
        "select extract(epoch from current_setting('idle_in_transaction_session_timeout')::interval)"
    ).fetchone()[0]
    assert 0 < limit <= 60
    pms.execute("select * from api.get_reservation(%s)", (world.future[world.a.id],)).fetchone()
    # a transaction is open now; the client goes quiet
    time.sleep(float(limit) + 1.5)
    with pytest.raises(psycopg.Error) as excinfo:
        pms.execute("select 1").fetchone()
    assert excinfo.value.sqlstate in ("25P03", None), excinfo.value  # idle_in_transaction_session_timeout
    assert pms.closed


def test_a_runaway_statement_is_cancelled(timeouts, connect_as) -> None:
    saas = connect_as("saas")
    saas.execute("set statement_timeout = '200ms'")  # a session may shorten (or lengthen) its limit
    with pytest.raises(psycopg.errors.QueryCanceled):
        saas.execute("select pg_sleep(2)")
    saas.rollback()


def test_the_login_or_the_connection_overrides_the_default(
    db: psycopg.Connection, fresh_db: str, logins, timeouts, server_url: str
) -> None:
    with psycopg.connect(
        fresh_db, user=logins["bi"], password=PASSWORD, options="-c statement_timeout=1h"
    ) as bi:
        assert shown(bi)[0] == "1h"
    with psycopg.connect(server_url, autocommit=True) as su:
        su.execute(
            sql.SQL("alter role {} set statement_timeout = '2min'").format(sql.Identifier(logins["member"]))
        )
    try:
        with psycopg.connect(fresh_db, user=logins["member"], password=PASSWORD) as member:
            assert shown(member) == ("2min", timeouts["member"][1])
    finally:
        with psycopg.connect(server_url, autocommit=True) as su:
            su.execute(
                sql.SQL("alter role {} reset statement_timeout").format(sql.Identifier(logins["member"]))
            )
            if su.info.server_version < 170000:
                su.execute(
                    sql.SQL("alter role {} set statement_timeout = {}").format(
                        sql.Identifier(logins["member"]), sql.Literal(timeouts["member"][0])
                    )
                )


def test_a_login_another_session_writes_meanwhile_does_not_fail_the_migration(
    db: psycopg.Connection, server_url: str
) -> None:
    """Logins and their settings belong to the cluster: while a migration writes the timeouts of
    the logins that have none, another database's migration or an administrator may write the
    same login's settings. The migration waits for that session and leaves its change standing
    (it failed with a duplicate key, or 'tuple concurrently updated', before)."""
    if db.info.server_version >= 170000:
        pytest.skip("PostgreSQL 17+ applies the timeouts at login: no migration writes role settings")
    login = f"hcm{os.getpid()}_meanwhile"
    with psycopg.connect(server_url, autocommit=True) as su:
        su.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login)))
        su.execute(sql.SQL("create role {} login in role hotelcore_member").format(sql.Identifier(login)))
        other = psycopg.connect(server_url)  # a session of another database of the cluster
        try:
            # its transaction writes the login's first setting and stays open meanwhile
            other.execute(
                sql.SQL("alter role {} set statement_timeout = '10s'").format(sql.Identifier(login))
            )
            with ThreadPoolExecutor(max_workers=1) as pool:
                migration = pool.submit(
                    lambda: db.execute("select internal.apply_client_timeouts()").fetchone()
                )
                waiting = False
                while not waiting and not migration.done():
                    waiting = su.execute(
                        "select exists (select 1 from pg_stat_activity where pid = %s and wait_event_type = 'Lock')",
                        [db.info.backend_pid],
                    ).fetchone()[0]
                    time.sleep(0.01)
                assert waiting, "the migration did not meet the other session's write"
                other.commit()
                migration.result()  # no error
            settings = su.execute(
                """select c from pg_db_role_setting d, unnest(d.setconfig) c
                   where d.setrole = %s::regrole and d.setdatabase = 0 order by c""",
                [login],
            ).fetchall()
            assert [s for (s,) in settings] == [
                "idle_in_transaction_session_timeout=15s",
                "statement_timeout=10s",
            ]
        finally:
            other.close()
            su.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login)))
