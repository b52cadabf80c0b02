"""The read replica (`hotelcore db replica`): a hot standby of a throwaway primary. The search
and report functions (the api's STABLE functions: PostgreSQL refuses a write in them) and every
report view answer on it in read-only transactions; a write is refused there; lag is visible in
SQL on both sides and in /metrics; the HTTP API sends reads there, except a caller's reads
after its own write until the replica has replayed it (read-your-writes)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psycopg
import pytest

from pyapi.backup import replica_name
from pyapi.checkout.gateway import SimulatedGateway
from pyapi.http import Settings, create_app
from tests.support.ops import build_hotel, make_customer

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from fastapi.testclient import TestClient  # noqa: E402

HOTELCORE = str(Path(sys.executable).parent / "hotelcore")


def replica_cli(scratch, *args: str) -> str:
    """`hotelcore db replica --data <scratch>/replica ARGS` against the scratch primary; its output."""
    env = os.environ | {"DATABASE_URL": scratch.primary.url(), "COLUMNS": "200"}
    done = subprocess.run(
        [HOTELCORE, "db", "replica", "--data", str(scratch.folder("replica")), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def start_replica(scratch) -> str:
    """`hotelcore db replica` against the scratch primary; the replica's URL."""
    url = replica_cli(scratch).strip().splitlines()[-1].strip()
    from pyapi import backup as bk
    from pyapi.config import endpoint_of

    scratch.others.append(bk.Cluster(scratch.folder("replica"), endpoint_of(url).port))
    return url


def wait_replayed(primary: psycopg.Connection, replica_url: str, timeout: float = 30) -> None:
    lsn = primary.execute("select pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica_url, autocommit=True) as rep:
        while time.monotonic() < deadline:
            if rep.execute("select pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not replay the primary's WAL in time")


# Every STABLE api function, called with the fixture's ids: the catalog test below fails when a
# new one is not here.
def read_calls(f: dict) -> dict[str, tuple[str, list]]:
    night = f["today"] + dt.timedelta(days=3)
    out = night + dt.timedelta(days=2)
    return {
        "search_availability": (
            "select * from api.search_availability(%s, %s, %s)",
            [f["hotel"], night, out],
        ),
        "search_city_availability": (
            "select * from api.search_city_availability('Tokyo', %s, %s)",
            [night, out],
        ),
        "quote": (
            "select api.quote(%s, %s, %s, %s, %s)",
            [f["hotel"], f["room_type"], f["rate_plan"], night, out],
        ),
        "get_reservation": ("select api.get_reservation(%s)", [f["reservation"]]),
        "get_customer": ("select api.get_customer(%s)", [f["customer"]]),
        "get_points_balance": ("select api.get_points_balance(%s)", [f["customer"]]),
        "get_points_history": ("select api.get_points_history(%s)", [f["customer"]]),
        "get_customer_rank": ("select api.get_customer_rank(%s)", [f["customer"]]),
        "assert_in_scope": ("select api.assert_in_scope('hotel', %s)", [f["hotel"]]),
        "get_checkout": ("select api.get_checkout(%s)", [f["checkout"]]),
        "list_reservations": ("select api.list_reservations(%s)", [f["hotel"]]),
        "list_customer_reservations": ("select api.list_customer_reservations(%s)", [f["customer"]]),
        "list_rooms": ("select api.list_rooms(%s)", [f["hotel"]]),
        "list_special_event_days": (
            "select api.list_special_event_days(%s, %s, %s)",
            [f["hotel"], night, out],
        ),
        "list_api_keys": ("select * from api.list_api_keys()", []),
        "list_webhooks": ("select * from api.list_webhooks()", []),
        "webhook_sealed_secrets": ("select * from api.webhook_sealed_secrets()", []),
        "get_order": ("select api.get_order(0)", []),
        "list_customer_orders": ("select api.list_customer_orders(%s)", [f["customer"]]),
        "list_service_items": ("select api.list_service_items(%s)", [f["hotel"]]),
        "feedback_summary": ("select api.feedback_summary(%s)", [f["customer"]]),
        # external-PMS hotels: the fixture's hotel keeps its own ledger, so those naming it refuse
        "pms_connection": ("select api.pms_connection(%s)", [f["hotel"]]),
        "pms_webhook_target": ("select * from api.pms_webhook_target('cloudbeds', 'none')", []),
        "pms_sync_status": ("select * from api.pms_sync_status()", []),
        "pms_due_syncs": ("select * from api.pms_due_syncs()", []),
        "pms_get_checkout": ("select api.pms_get_checkout(0)", []),
    }


@pytest.fixture
def world(scratch):
    with psycopg.connect(scratch.primary.url(), autocommit=True) as conn:
        hotel = build_hotel(conn, rooms=5, days=30)
        customer = make_customer(conn)
        night = hotel.today + dt.timedelta(days=3)
        hold = conn.execute(
            "select hold_id from api.create_hold(%s, %s, %s, %s, %s)",
            [hotel.id, hotel.room_type, hotel.rate_plan, night, night + dt.timedelta(days=2)],
        ).fetchone()[0]
        reservation = conn.execute(
            "select reservation_id from api.confirm_booking(%s, %s, 'auth-r')", [hold, customer]
        ).fetchone()[0]
        pms = conn.execute("select token from api.issue_api_key('pms', %s, 'r')", [[hotel.id]]).fetchone()[0]
        pms2 = conn.execute("select token from api.issue_api_key('pms', %s, 'r2')", [[hotel.id]]).fetchone()[
            0
        ]
        member = conn.execute(
            "select token from api.issue_api_key('member', %s, 'r')", [[hotel.id]]
        ).fetchone()[0]
        # a finished checkout saga for api.get_checkout: through the HTTP API below; a placeholder id here
        checkout = 0
    return {
        "hotel": hotel.id,
        "room_type": hotel.room_type,
        "rate_plan": hotel.rate_plan,
        "today": hotel.today,
        "customer": customer,
        "reservation": reservation,
        "checkout": checkout,
        "keys": {"pms": pms, "pms2": pms2, "member": member},
        "load": hotel,
    }


def test_replica_serves_reads_read_only_with_lag_in_sql(scratch, world):
    replica_url = start_replica(scratch)
    with psycopg.connect(scratch.primary.url(), autocommit=True) as primary:
        stable = {
            r[0]
            for r in primary.execute(
                "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                "where n.nspname = 'api' and p.provolatile in ('s', 'i')"
            ).fetchall()
        }
        assert stable == set(read_calls(world)), "a STABLE api function has no read-only call in this test"
        views = [
            r[0]
            for r in primary.execute(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'report' and c.relkind in ('v', 'm') order by 1"
            ).fetchall()
        ]
        make_customer(primary)  # a commit for the replica to replay
        wait_replayed(primary, replica_url)
        standbys = primary.execute(
            "select application_name, state, replay_lag_bytes from report.replication_standbys"
        ).fetchall()
        assert [(s[0], s[1]) for s in standbys] == [(replica_name(scratch.folder("replica")), "streaming")]
        assert standbys[0][2] is not None and standbys[0][2] >= 0
        primary_lag = primary.execute(
            "select in_recovery, replay_lag_bytes from report.replication_lag"
        ).fetchone()
        assert primary_lag == (False, 0)

    with psycopg.connect(replica_url) as rep:
        for name, (sql, params) in read_calls(world).items():
            with rep.transaction():
                rep.execute("set transaction read only")
                try:
                    rep.execute(sql, params).fetchall()
                except psycopg.errors.ReadOnlySqlTransaction as exc:  # pragma: no cover - the finding
                    pytest.fail(f"api.{name} wrote on the replica: {exc}")
                except psycopg.Error as exc:
                    # a refusal of the fixture's arguments (e.g. no checkout 0) is an answer, not a write
                    assert exc.sqlstate.startswith("HC"), f"api.{name}: {exc}"
        for view in views:
            with rep.transaction():
                rep.execute("set transaction read only")
                rep.execute(f"select * from report.{view} limit 5").fetchall()
        # a write is refused on the replica: writes go to the primary
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            with rep.transaction():
                night = world["today"] + dt.timedelta(days=5)
                rep.execute(
                    "select api.create_hold(%s, %s, %s, %s, %s)",
                    [
                        world["hotel"],
                        world["room_type"],
                        world["rate_plan"],
                        night,
                        night + dt.timedelta(days=1),
                    ],
                )
        lag = rep.execute(
            "select in_recovery, replay_lag_bytes, replay_delay_seconds, last_replayed_commit_at "
            "from report.replication_lag"
        ).fetchone()
        assert lag[0] is True and lag[1] >= 0 and lag[2] >= 0 and lag[3] is not None


def test_http_reads_go_to_the_replica_and_a_writer_reads_its_own_writes(scratch, world):
    replica_url = start_replica(scratch)
    primary_url = scratch.primary.url()
    keys = world["keys"]
    hotel = world["load"]
    app = create_app(
        Settings(database_url=primary_url, replica_url=replica_url, recovery_interval=0, pool_max=4),
        gateway=SimulatedGateway(),
    )
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        psycopg.connect(primary_url, autocommit=True) as primary,
        psycopg.connect(replica_url, autocommit=True) as rep,
    ):
        wait_replayed(primary, replica_url)
        # the replica stops replaying: from now on it lags behind every write
        rep.execute("select pg_wal_replay_pause()")
        night = hotel.today + dt.timedelta(days=6)
        out = night + dt.timedelta(days=2)
        total = primary.execute(
            "select (api.quote(%s, %s, %s, %s, %s) ->> 'total')::numeric",
            [hotel.id, hotel.room_type, hotel.rate_plan, night, out],
        ).fetchone()[0]
        body = {
            "vendor": "hotelcore",
            "hotelId": hotel.id,
            "roomTypeId": hotel.room_type,
            "checkIn": night.isoformat(),
            "checkOut": out.isoformat(),
            "guestInfo": {
                "firstName": "Taro",
                "lastName": "Yamada",
                "email": "taro@example.com",
                "phone": "+81-90-1234-5678",
            },
            "adults": 2,
            "children": 0,
            "payment": {"cardToken": "tok_visa", "amount": int(total), "currency": "JPY"},
        }
        booked = client.post("/api/booking/checkout", json=body, headers={"X-API-Key": keys["member"]})
        assert booked.status_code == 201, booked.text
        reservation = booked.json()["data"]["reservationId"]
        # the writer reads its booking: the primary answers (the replica has not replayed it)
        own = client.get(f"/api/v2/pms/reservations/{reservation}", headers={"X-API-Key": keys["pms"]})
        mine = client.get(
            f"/api/booking/checkout/{booked.json()['data']['checkoutId']}",
            headers={"X-API-Key": keys["member"]},
        )
        assert mine.status_code == 200, mine.text
        # another caller's read goes to the replica, which does not have it yet: the caveat
        other = client.get(f"/api/v2/pms/reservations/{reservation}", headers={"X-API-Key": keys["pms2"]})
        assert other.status_code == 404, other.text
        assert own.status_code == 404  # pms had not written: its read went to the replica too
        metrics = client.get("/metrics").text
        assert "hotelcore_replica_up 1.0" in metrics
        lag_bytes = float(metrics.split("\nhotelcore_replica_lag_bytes ")[1].split()[0])
        assert lag_bytes > 0  # paused: the booking's WAL is received, not replayed
        assert 'hotelcore_db_pool_connections{pool="replica",state="max"} 4.0' in metrics
        # replay resumes: every caller's read sees the booking
        rep.execute("select pg_wal_replay_resume()")
        wait_replayed(primary, replica_url)
        again = client.get(f"/api/v2/pms/reservations/{reservation}", headers={"X-API-Key": keys["pms2"]})
        assert again.status_code == 200, again.text


def test_a_replica_that_is_down_leaves_reads_to_the_primary(scratch, world):
    from pyapi.backup import free_port

    app = create_app(
        Settings(
            database_url=scratch.primary.url(),
            replica_url=f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
            recovery_interval=0,
            pool_max=2,
        ),
        gateway=SimulatedGateway(),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        got = client.get(
            f"/api/v2/pms/reservations/{world['reservation']}", headers={"X-API-Key": world["keys"]["pms"]}
        )
        assert got.status_code == 200, got.text
        # the next reads do not wait for the dead replica again (the primary answers at once)
        again = client.get(
            f"/api/v2/pms/reservations/{world['reservation']}", headers={"X-API-Key": world["keys"]["pms"]}
        )
        assert again.status_code == 200 and app.state.hc.db.routing._down_until > 0
        assert "hotelcore_replica_up 0.0" in client.get("/metrics").text


def slot_row(primary: psycopg.Connection, slot: str):
    return primary.execute(
        "select slot_type, active, retained_bytes, restart_lsn from report.replication_slots where slot_name = %s",
        [slot],
    ).fetchone()


def wait_for(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_the_replica_streams_through_its_own_slot_which_keeps_its_wal_until_removed(scratch):
    folder = scratch.folder("replica")
    slot = replica_name(folder)
    replica_url = start_replica(scratch)
    primary_url = scratch.primary.url()
    with psycopg.connect(primary_url, autocommit=True) as primary:
        make_customer(primary)
        wait_replayed(primary, replica_url)
        assert slot_row(primary, slot)[:2] == ("physical", True)
        with psycopg.connect(replica_url, autocommit=True) as rep:
            assert rep.execute("show primary_slot_name").fetchone()[0] == slot
            assert rep.execute("select slot_name from pg_stat_wal_receiver").fetchone()[0] == slot

        # the replica is away: its slot keeps every WAL segment it has not received
        replica_cli(scratch, "--stop")
        wait_for(lambda: slot_row(primary, slot)[1] is False)
        before = slot_row(primary, slot)
        for _ in range(3):
            make_customer(primary)
            primary.execute("select pg_switch_wal()")
        primary.execute("checkpoint")
        after = slot_row(primary, slot)
        assert after[3] == before[3], "the slot's restart point moved without its standby"
        assert after[2] - before[2] >= 2 * 1024 * 1024  # three 1 MiB segments switched
        kept = primary.execute(
            "select count(*) from pg_ls_waldir() where name = pg_walfile_name(%s)", [after[3]]
        ).fetchone()[0]
        assert kept == 1, "the segment the replica needs next was recycled"

        # /metrics on the primary shows the slot and what it keeps
        app = create_app(
            Settings(database_url=primary_url, recovery_interval=0, pool_max=2), gateway=SimulatedGateway()
        )
        with TestClient(app, raise_server_exceptions=False) as client:
            text = client.get("/metrics").text
        retained = float(
            text.split(f'\nhotelcore_replication_slot_retained_bytes{{slot="{slot}"}} ')[1].split()[0]
        )
        assert retained >= after[2]
        assert f'hotelcore_replication_slot_active{{slot="{slot}"}} 0.0' in text
        assert 'hotelcore_metrics_source_up{source="replication_slots"} 1.0' in text

        # back again: it catches up through the slot, which then releases the WAL
        from pyapi import backup as bk
        from pyapi.config import endpoint_of

        bk.Cluster(folder, endpoint_of(replica_url).port).start()
        wait_replayed(primary, replica_url, timeout=60)
        wait_for(lambda: slot_row(primary, slot)[1] is True)
        primary.execute("select pg_switch_wal()")
        make_customer(primary)
        wait_replayed(primary, replica_url)
        assert wait_for(lambda: slot_row(primary, slot)[2] < after[2])

        # removing the replica drops its slot on the primary and deletes its folder
        out = replica_cli(scratch, "--remove")
        assert slot in out
        assert slot_row(primary, slot) is None
        assert not folder.exists()
