"""Vendor API keys sealed at rest: the database holds a Fernet token, the connector opens it with
the key of HOTELCORE_PMS_KEYS (outside the database), and a rotation seals every stored key again
under a new key; the connector then calls the simulated vendor with the new key alone."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from cryptography.fernet import Fernet

from hotelcore_tools.vendor_sim import Simulator, start_simulator
from pyapi import vault
from pyapi.pms import service
from pyapi.pms.connector import Resilient
from tests.support.errors import sqlstate

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def imported(db: psycopg.Connection, monkeypatch):
    monkeypatch.setenv(vault.ENV, OLD)
    sim = Simulator()
    sim.add_property("P1", "key-1", room_types=[("RT1", "Ondol Room", 2, 3, Decimal("120000"))])
    running = start_simulator(sim)
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    hotel = service.import_property(
        db,
        vendor="cloudbeds",
        property_id="P1",
        base_url=running.url,
        api_key="key-1",
        resilient=Resilient(),
        today=today,
    )["hotel_id"]
    yield sim, hotel, today
    running.stop()
    assert sim.violations == []


def stored(db: psycopg.Connection) -> str:
    return db.execute("select api_key from core.pms_properties").fetchone()[0]


def refresh(db: psycopg.Connection, hotel: int, today: dt.date) -> None:
    start = today + dt.timedelta(days=2)
    service.refresh(db, hotel, start, start + dt.timedelta(days=1), resilient=Resilient())


def test_the_database_holds_the_key_sealed_and_the_connector_opens_it(db, imported):
    sim, hotel, today = imported
    sealed = stored(db)
    assert sealed.startswith("fernet:") and "key-1" not in sealed
    assert vault.open_sealed(sealed) == "key-1"
    refresh(db, hotel, today)  # the vendor accepted the key the connector opened
    assert any(r[2] == "getRatePlans" for r in sim.requests)


def test_rotation_seals_every_key_under_the_new_one(db, imported, monkeypatch):
    sim, hotel, today = imported
    before = stored(db)
    secret_query = "select webhook_secret from core.pms_properties"
    secret_before = db.execute(secret_query).fetchone()[0]
    monkeypatch.setenv(vault.ENV, f"{NEW},{OLD}")  # the new key first, the old one still opens
    assert service.rotate_api_keys(db) == {"resealed": 1, "changed_meanwhile": 0}
    after = stored(db)
    assert after != before and after.startswith("fernet:")
    # the secret of the vendor's signed webhooks too
    secret_after = db.execute(secret_query).fetchone()[0]
    assert secret_after != secret_before and secret_after.startswith("fernet:")
    monkeypatch.setenv(vault.ENV, NEW)
    assert vault.open_sealed(secret_after)  # opens with the new key alone
    with pytest.raises(vault.VaultError):
        vault.open_sealed(secret_before)
    monkeypatch.setenv(vault.ENV, NEW)  # the old key dropped: the stored key opens with the new one
    refresh(db, hotel, today)
    monkeypatch.setenv(vault.ENV, OLD)  # and no longer with the old one
    with pytest.raises(vault.VaultError):
        refresh(db, hotel, today)
    # a rotation that lost the race to another leaves the newer value as it is
    monkeypatch.setenv(vault.ENV, NEW)
    assert (
        db.execute("select api.pms_set_api_key(%s, %s, %s)", [hotel, vault.seal("key-1"), before]).fetchone()[
            0
        ]
        is False
    )
    assert stored(db) == after


def test_a_key_stored_in_clear_by_an_older_release_is_sealed_by_the_rotation(monkeypatch):
    monkeypatch.setenv(vault.ENV, NEW)
    sealed = vault.reseal("legacy-clear-key")
    assert sealed.startswith("fernet:") and vault.open_sealed(sealed) == "legacy-clear-key"
    with pytest.raises(vault.VaultError):
        vault.open_sealed("legacy-clear-key")  # never used as is


def test_of_two_rotations_racing_from_one_value_the_later_stores_nothing(db, imported, fresh_db):
    """The compare and the write are one statement: a rotation that waited for another's row lock
    compares with the value the other committed, not with the one it saw before waiting."""
    _, hotel, _ = imported
    old = stored(db)
    first = psycopg.connect(fresh_db)
    second = psycopg.connect(fresh_db, autocommit=True)
    try:
        assert first.execute(
            "select api.pms_set_api_key(%s, %s, %s)", [hotel, vault.seal("key-A"), old]
        ).fetchone()[0]
        waiter = second.info.backend_pid
        with ThreadPoolExecutor(max_workers=1) as pool:
            later = pool.submit(
                lambda: second.execute(
                    "select api.pms_set_api_key(%s, %s, %s)", [hotel, vault.seal("key-B"), old]
                ).fetchone()[0]
            )
            # the later rotation waits for the earlier one's row lock (a wait, not a timed sleep)
            while (
                not later.done()
                and not db.execute(
                    "select exists (select 1 from pg_stat_activity where pid = %s and wait_event_type = 'Lock')",
                    [waiter],
                ).fetchone()[0]
            ):
                time.sleep(0.01)
            first.commit()
            assert later.result() is False
    finally:
        first.close()
        second.close()
    assert vault.open_sealed(stored(db)) == "key-A"


def test_the_credential_column_comes_from_a_closed_set(db, imported):
    _, hotel, _ = imported
    with pytest.raises(psycopg.Error) as refused:
        db.execute(
            "select internal.pms_store_sealed(%s, %s, %s, null)",
            [hotel, "api_key = null, vendor", vault.seal("x")],
        )
    assert refused.value.sqlstate == sqlstate("INTERNAL_ERROR")
