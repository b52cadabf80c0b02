"""``hotelcore webhooks ...``, ``hotelcore dispatch --once`` and ``hotelcore events purge`` against
the test's database (DATABASE_URL), as an operator runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import psycopg
import pytest

from hotelcore_tools.receiver import Receiver
from tests.support.events import create_customer, make_hotel, set_status, wait_readable

HC = [sys.executable, "-m", "pyapi.cli"]


def hc(url: str, *args: str) -> subprocess.CompletedProcess:
    res = subprocess.run(
        [*HC, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"DATABASE_URL": url, "COLUMNS": "200"},
    )
    return res


@pytest.mark.parametrize(
    "command",
    [["webhooks"], ["webhooks", "add"], ["webhooks", "list"], ["webhooks", "disable"], ["webhooks", "enable"],
     ["webhooks", "rotate-secret"], ["webhooks", "replay"], ["dispatch"], ["events"], ["events", "purge"]],
)  # fmt: skip
def test_every_events_command_has_help(command: list[str]) -> None:
    res = subprocess.run([*HC, *command, "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "Usage" in res.stdout, res.stderr


def test_an_operator_adds_lists_dispatches_rotates_replays_and_disables(
    db: psycopg.Connection, fresh_db: str
) -> None:
    hotel = make_hotel(db)
    with Receiver([]) as rx:
        res = hc(fresh_db, "webhooks", "add", rx.url, "--events", "room.*", "--hotel", str(hotel.id))
        assert res.returncode == 0, res.stderr
        webhook = int(re.search(r"webhook (\d+)", res.stdout)[1])
        secret = re.search(r"(whsec_\S+)", res.stdout)[1]
        rx.secrets.append(secret)
        set_status(db, hotel, hotel.room_ids[0], "dirty")
        create_customer(db, 1)  # not wanted
        wait_readable(db)
        res = hc(fresh_db, "dispatch", "--once")
        assert res.returncode == 0 and "1 delivery attempts" in res.stdout, res.stdout + res.stderr
        assert [r.event_type for r in rx.received] == ["room.status_changed"]
        listed = hc(fresh_db, "webhooks", "list").stdout
        assert rx.url in listed and "room.*" in listed and "enabled" in listed
        res = hc(fresh_db, "webhooks", "rotate-secret", str(webhook))
        assert res.returncode == 0 and "whsec_" in res.stdout
        rx.secrets.append(re.search(r"(whsec_\S+)", res.stdout)[1])
        event = rx.received[0].webhook_id
        res = hc(fresh_db, "webhooks", "replay", str(webhook), "--event", event)
        assert "1 deliveries queued" in res.stdout, res.stdout + res.stderr
        hc(fresh_db, "dispatch", "--once")
        assert [r.webhook_id for r in rx.received] == [event, event]
        assert len(rx.received[1].signatures.split(" ")) == 2  # rotating: both secrets sign
        res = hc(fresh_db, "webhooks", "disable", str(webhook), "--reason", "maintenance")
        assert "disabled" in res.stdout
        assert "disabled: maintenance" in hc(fresh_db, "webhooks", "list").stdout
    # a refusal is one line and exit 1
    res = hc(fresh_db, "webhooks", "add", "ftp://x", "--events", "room.*")
    assert res.returncode == 1 and "INVALID_ARGUMENT" in res.stderr and "Traceback" not in res.stderr
    res = hc(fresh_db, "webhooks", "add", "http://x", "--events", "rooms.*")
    assert res.returncode == 1 and "EVENT_TYPE_UNKNOWN" in res.stderr
    assert hc(fresh_db, "events", "purge").stdout.strip() == "0 events purged"
