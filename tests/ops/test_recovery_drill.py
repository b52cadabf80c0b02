"""The recovery drill: bookings from several clients, a base backup (`hotelcore backup`), more
bookings, the postmaster killed with SIGKILL, then `hotelcore restore` into a new data folder,
to the latest archived point and to a point in time. Every booking acknowledged before the
recovered point is there; RPO (seconds and acknowledged bookings lost) and RTO are measured and
printed. Runs on its own throwaway cluster (tests/ops/conftest.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from pyapi.client import Client
from tests.support.ops import book, build_hotel, make_customer

HOTELCORE = str(Path(sys.executable).parent / "hotelcore")


@dataclass
class Ack:
    started: float  # wall clock before the hold
    acked: float  # wall clock once the commit returned
    reservation_id: int


def cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": url, "COLUMNS": "200"}
    done = subprocess.run([HOTELCORE, *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def restored_url(done: subprocess.CompletedProcess) -> str:
    return next(line.strip() for line in done.stdout.splitlines() if line.strip().startswith("postgresql://"))


def test_recovery_drill(scratch):
    url = scratch.primary.url()
    with psycopg.connect(url, autocommit=True) as conn:
        hotel = build_hotel(conn, rooms=100, days=60)
        customers = [make_customer(conn) for _ in range(4)]
    acks: list[Ack] = []
    lock = threading.Lock()

    first = Client(url, min_size=1, max_size=1)
    for i in range(20):
        started = time.time()
        rid, _ = book(first, hotel, customers[0], i)
        acks.append(Ack(started, time.time(), rid))
    first.close()

    cli("backup", "--dir", str(scratch.layout.root), "--archive-timeout", "2", url=url)
    backup_done = time.time()

    stop = threading.Event()

    def worker(w: int) -> None:
        client = Client(url, min_size=1, max_size=1, attempts=1)
        i = 1000 + w
        while not stop.is_set():
            started = time.time()
            try:
                rid, _ = book(client, hotel, customers[w], i)
            except Exception:  # the crash: the server is gone, nothing more is acknowledged
                break
            with lock:
                acks.append(Ack(started, time.time(), rid))
            i += 4
        try:
            client.close()
        except Exception:
            pass

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(3.0)
    midpoint = time.time()
    time.sleep(3.0)
    scratch.primary.kill9()
    crash_wall, crash = time.time(), time.monotonic()
    stop.set()
    for t in threads:
        t.join(timeout=30)

    # ---- restore to the latest archived point (the disaster case)
    done = cli(
        "restore",
        "--to",
        "latest",
        "--data",
        str(scratch.folder("restored")),
        "--dir",
        str(scratch.layout.root),
        url=url,
    )
    new_url = restored_url(done)
    with psycopg.connect(new_url, autocommit=True) as conn:
        rto = time.monotonic() - crash
        last_point = conn.execute("select pg_last_xact_replay_timestamp()").fetchone()[0]
        present = {r[0] for r in conn.execute("select id from core.reservations").fetchall()}
        drift = conn.execute(
            "select count(*) from report.inventory_recount where oversold or drifted"
        ).fetchone()[0]
        in_recovery = conn.execute("select pg_is_in_recovery()").fetchone()[0]
    scratch.others.append(_cluster_of(scratch, "restored", new_url))
    assert not in_recovery  # promoted: it takes writes
    assert drift == 0
    assert last_point is not None
    last = last_point.timestamp()
    must = [a for a in acks if a.acked <= last]
    missing = [a.reservation_id for a in must if a.reservation_id not in present]
    assert missing == [], f"acknowledged before the last archived point ({last_point}) but not restored"
    after_backup = [a for a in acks if a.started > backup_done]
    replayed = [a for a in after_backup if a.reservation_id in present]
    assert replayed, "no booking made after the base backup came back: the WAL archive was not replayed"
    lost = [a for a in acks if a.reservation_id not in present]
    rpo = crash_wall - last

    # ---- point-in-time recovery: to a moment while bookings were running
    target = dt.datetime.fromtimestamp(midpoint, dt.UTC)
    done = cli(
        "restore",
        "--to",
        target.isoformat(),
        "--data",
        str(scratch.folder("pitr")),
        "--dir",
        str(scratch.layout.root),
        url=url,
    )
    pitr_url = restored_url(done)
    with psycopg.connect(pitr_url, autocommit=True) as conn:
        pitr_present = {r[0] for r in conn.execute("select id from core.reservations").fetchall()}
        pitr_point = conn.execute("select pg_last_xact_replay_timestamp()").fetchone()[0]
    scratch.others.append(_cluster_of(scratch, "pitr", pitr_url))
    before = [a.reservation_id for a in acks if a.acked <= midpoint]
    later = [a.reservation_id for a in acks if a.started > midpoint]
    assert before and later
    assert [r for r in before if r not in pitr_present] == []
    assert [r for r in later if r in pitr_present] == []
    assert pitr_point <= target

    print(
        f"\nrecovery drill: {len(acks)} bookings acknowledged ({len(after_backup)} after the base backup), "
        f"4 clients, archive_timeout 2 s\n"
        f"  RPO: {rpo:.2f} s between the crash and the last recovered commit; "
        f"{len(lost)} acknowledged bookings lost (all acknowledged after that point)\n"
        f"  RTO: {rto:.2f} s from kill -9 to the restored server answering, promoted "
        f"(hotelcore restore, base copy + WAL replay)\n"
        f"  PITR to {target.isoformat()}: {len(before)} bookings acknowledged before it present, "
        f"{len(later)} begun after it absent"
    )


def _cluster_of(scratch, name: str, url: str):
    from pyapi import backup as bk
    from pyapi.config import endpoint_of

    return bk.Cluster(scratch.folder(name), endpoint_of(url).port)
