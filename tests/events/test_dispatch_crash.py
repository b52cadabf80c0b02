"""A dispatcher killed with SIGKILL in the middle of a delivery loses nothing: its lease runs out
and another dispatcher sends the same delivery again, with the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
import tenacity

from hotelcore_tools.receiver import Answer, Receiver
from pyapi.dispatch import Dispatcher, Schedule
from tests.support.events import add_webhook, create_customer


@pytest.mark.slow
def test_kill_9_mid_delivery_redelivers_with_the_same_webhook_id(
    db: psycopg.Connection, fresh_db: str
) -> None:
    hanging = threading.Event()
    first: list[str] = []

    def script(item):
        if not first:
            first.append(item.webhook_id)
            hanging.set()
            time.sleep(2.5)  # the dispatcher dies while it waits for this answer
        return Answer(204)

    with Receiver([], script=script) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        for i in range(5):
            create_customer(db, i)
        env = os.environ | {"DATABASE_URL": fresh_db}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pyapi.cli",
                "dispatch",
                "--timeout",
                "3",
                "--lease",
                "4",
                "--poll",
                "0.2",
                "--workers",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert hanging.wait(60), (
                proc.stderr.read1().decode() if proc.poll() is not None else "no delivery"
            )
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        leased = db.execute(
            "select d.status, d.leased_by is not null from core.webhook_deliveries d join core.events e on e.id = d.event_pk"
            " where e.event_id = %s",
            (first[0],),
        ).fetchone()
        assert leased == ("pending", True), (
            "the killed dispatcher's delivery is still pending under its lease"
        )
        with Dispatcher(fresh_db, name="survivor", schedule=Schedule(tenacity.wait_fixed(0.2), 4)) as d:
            # the condition is the SQL count; the guard (below pytest's timeout) only names a hang
            deadline = time.monotonic() + 240
            while (
                db.execute(
                    "select count(*) filter (where status = 'delivered') from core.webhook_deliveries where consumer_id = %s",
                    (webhook,),
                ).fetchone()[0]
                < 5
            ):
                assert time.monotonic() < deadline, "not redelivered"
                d.run_once()
                time.sleep(0.2)
    ids = [r.webhook_id for r in rx.received]
    assert ids.count(first[0]) == 2, "redelivered once, with the same webhook-id"
    events = {r[0] for r in db.execute("select event_id from core.events where type like 'customer.%'")}
    assert set(ids) == events, "no event lost"
    # the killed attempt left no log row; the survivor's is there
    log = db.execute(
        "select dispatcher, attempt, status_code from report.webhook_delivery_log where event_id = %s",
        (first[0],),
    ).fetchall()
    assert log == [("survivor", 2, 204)]
