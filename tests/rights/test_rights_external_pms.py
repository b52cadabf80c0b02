"""The external-PMS api functions in seed 000's matrix, performed by each system's login: the
connector's writes and the vendor's credentials are admin-only (scheduled jobs), the sync status
and the mirror's freshness are inventory reads, the manual trigger an inventory update; and a
login limited to another hotel learns nothing of an external hotel."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from psycopg.types.json import Jsonb

from pyapi import vault
from tests.support.errors import DENIED, sqlstate
from tests.support.external_pms import import_property, property_document
from tests.support.sql import call


@pytest.fixture
def external(db: psycopg.Connection) -> int:
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    return import_property(db, property_document(today))


def attempts(hotel: int) -> dict[str, tuple[dict, set[str]]]:
    """function -> (arguments, the systems allowed)."""
    today = dt.date.today()
    return {
        "pms_connection": ({"p_hotel_id": hotel}, set()),
        "pms_webhook_target": ({"p_vendor": "cloudbeds", "p_property_id": "P1"}, set()),
        "pms_apply_snapshot": ({"p_hotel_id": hotel, "p_document": Jsonb({}), "p_source": "fetch"}, set()),
        "pms_apply_reservation": (
            {
                "p_hotel_id": hotel,
                "p_document": Jsonb(
                    {
                        "external_id": "X",
                        "status": "confirmed",
                        "modified_at": "2999-01-01T00:00:00Z",
                        "check_in": str(today),
                        "check_out": str(today + dt.timedelta(days=1)),
                    }
                ),
                "p_source": "poll",
            },
            set(),
        ),
        "pms_apply_webhook": (
            {
                "p_vendor": "cloudbeds",
                "p_event_id": "e",
                "p_hotel_id": hotel,
                "p_kind": "room_update",
                "p_document": Jsonb({}),
            },
            set(),
        ),
        "pms_claim_sync": ({"p_hotel_id": hotel}, set()),
        "pms_due_syncs": ({}, set()),
        "pms_record_breaker": ({"p_hotel_id": hotel, "p_state": "open"}, set()),
        "pms_stalled_checkouts": ({}, set()),
        "pms_enqueue_fetch": (
            {
                "p_vendor": "cloudbeds",
                "p_event_id": "e",
                "p_hotel_id": hotel,
                "p_event": "reservation/created",
                "p_entity_id": "R1",
            },
            set(),
        ),
        "pms_claim_fetches": ({}, set()),
        "pms_set_api_key": ({"p_hotel_id": hotel, "p_api_key_sealed": vault.seal("k2")}, set()),
        "pms_set_webhook_secret": ({"p_hotel_id": hotel, "p_webhook_secret_sealed": vault.seal("s2")}, set()),
        "pms_finish_fetch": ({"p_id": 1}, set()),
        "pms_import_property": (
            {
                "p_vendor": "cloudbeds",
                "p_property_id": "P9",
                "p_base_url": "http://x",
                "p_api_key": vault.seal("k"),
                "p_webhook_secret": vault.seal("s"),
                "p_webhook_token": "t",
                "p_document": Jsonb(property_document(today, code="p9")),
            },
            set(),
        ),
        "pms_sync_status": ({"p_hotel_id": hotel}, {"member", "pms"}),
        "pms_lookup": (
            {
                "p_hotel_id": hotel,
                "p_check_in": today + dt.timedelta(days=1),
                "p_check_out": today + dt.timedelta(days=2),
            },
            {"member", "pms"},
        ),
        "pms_city_lookup": (
            {
                "p_city": "Seoul",
                "p_check_in": today + dt.timedelta(days=1),
                "p_check_out": today + dt.timedelta(days=2),
            },
            {"member", "pms"},
        ),
        "pms_request_sync": ({"p_hotel_id": hotel}, {"pms"}),
    }


@pytest.mark.parametrize("system", ["member", "pms", "saas", "bi"])
def test_each_system_may_do_what_the_matrix_gives_it(db, external, connect_as, system):
    conn = connect_as(system)
    for function, (args, allowed) in attempts(external).items():
        try:
            call(conn, function, **args)
            outcome = "ok"
        except psycopg.Error as exc:
            outcome = exc.sqlstate
        finally:
            conn.rollback()
        if system in allowed:
            assert outcome == "ok", (system, function, outcome)
        else:
            assert outcome in DENIED, (system, function, outcome)


def test_a_login_of_another_hotel_learns_nothing_of_an_external_one(db, external, logins, connect_as):
    other = db.execute("select api.create_hotel('OTHER', 'Other', 'Asia/Seoul', 'KRW')").fetchone()[0]
    db.execute("insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["pms"], other))
    conn = connect_as("pms")
    answers = []
    for hotel in (external, 9_000_000_000):
        try:
            call(conn, "pms_sync_status", p_hotel_id=hotel)
            answers.append("ok")
        except psycopg.Error as exc:
            answers.append(exc.sqlstate)
        conn.rollback()
    assert answers == [
        sqlstate("PMS_HOTEL_NOT_FOUND"),
        sqlstate("PMS_HOTEL_NOT_FOUND"),
    ]  # the same as an id that does not exist
    assert call(conn, "pms_sync_status") == []  # and the list shows none
    conn.rollback()
    rows = call(
        conn,
        "search_city_availability",
        p_city="Seoul",
        p_check_in=dt.date.today() + dt.timedelta(days=2),
        p_check_out=dt.date.today() + dt.timedelta(days=3),
    )
    assert all(r["hotel_id"] != external for r in rows)
    conn.rollback()
    # nor does the freshness of a city search cover it, by city or by naming it
    for args in ({"p_city": "Seoul"}, {"p_city": None, "p_hotel_ids": [external]}):
        covered = call(
            conn,
            "pms_city_lookup",
            p_check_in=dt.date.today() + dt.timedelta(days=2),
            p_check_out=dt.date.today() + dt.timedelta(days=3),
            **args,
        )
        assert covered == []
        conn.rollback()
    assert db.execute("select count(*) from core.pms_cache_lookups").fetchone()[0] == 0  # nothing counted


def test_no_login_reads_a_vendor_api_key_in_clear_not_even_admin(db, connect_as):
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    hotel = import_property(db, property_document(today), property_id="P7")  # its vendor key: key-P7
    admin = connect_as("admin")
    seen = json.dumps(call(admin, "pms_connection", p_hotel_id=hotel))
    assert "key-P7" not in seen and '"api_key_sealed": "fernet:' in seen
    admin.rollback()
    with pytest.raises(psycopg.Error) as caught:  # nor the table (no client holds a right on core)
        admin.execute("select api_key from core.pms_properties")
    assert caught.value.sqlstate in DENIED
    admin.rollback()
    # a key in clear is never stored, whoever tries
    with pytest.raises(psycopg.Error) as caught:
        call(admin, "pms_set_api_key", p_hotel_id=hotel, p_api_key_sealed="key-P7")
    assert caught.value.sqlstate == sqlstate("INVALID_ARGUMENT")
    admin.rollback()
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("update core.pms_properties set api_key = 'key-P7' where hotel_id = %s", [hotel])


def test_no_login_reads_a_webhook_signing_secret_in_clear_not_even_admin(db, connect_as):
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    hotel = import_property(db, property_document(today), property_id="P8")  # its secret: whsec-P8
    stored = db.execute(
        "select webhook_secret from core.pms_properties where hotel_id = %s", [hotel]
    ).fetchone()[0]
    assert (
        stored.startswith("fernet:") and "whsec-P8" not in stored and vault.open_sealed(stored) == "whsec-P8"
    )
    admin = connect_as("admin")
    seen = json.dumps(
        [
            call(admin, "pms_webhook_target", p_vendor="cloudbeds", p_property_id="P8"),
            call(admin, "pms_connection", p_hotel_id=hotel),
        ],
        default=str,
    )
    assert "whsec-P8" not in seen and "fernet:" in seen
    admin.rollback()
    # a secret in clear is never stored, whoever tries
    for name, args in (
        ("pms_set_webhook_secret", {"p_hotel_id": hotel, "p_webhook_secret_sealed": "whsec-P8"}),
        (
            "pms_import_property",
            {
                "p_vendor": "cloudbeds",
                "p_property_id": "P9",
                "p_base_url": "http://x",
                "p_api_key": vault.seal("k"),
                "p_webhook_secret": "whsec-P9",
                "p_webhook_token": "t",
                "p_document": Jsonb(property_document(today, code="p9")),
            },
        ),
    ):
        with pytest.raises(psycopg.Error) as caught:
            call(admin, name, **args)
        assert caught.value.sqlstate == sqlstate("INVALID_ARGUMENT"), name
        admin.rollback()
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("update core.pms_properties set webhook_secret = 'whsec-P8' where hotel_id = %s", [hotel])


def test_an_admin_login_of_another_hotel_queues_claims_finishes_and_rekeys_nothing_of_it(
    db, external, logins, connect_as
):
    other = db.execute("select api.create_hotel('OTHER', 'Other', 'Asia/Seoul', 'KRW')").fetchone()[0]
    queued = db.execute(
        "select api.pms_enqueue_fetch('cloudbeds', 'e1', %s, 'reservation/created', 'R1')", [external]
    ).fetchone()[0]
    assert queued == "queued"
    row = db.execute("select id from core.pms_fetch_queue").fetchone()[0]
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["admin"], other)
    )
    admin = connect_as("admin")
    refusals = {}
    for name, args in (
        (
            "pms_enqueue_fetch",
            {
                "p_vendor": "cloudbeds",
                "p_event_id": "e2",
                "p_hotel_id": external,
                "p_event": "reservation/created",
                "p_entity_id": "R2",
            },
        ),
        ("pms_set_api_key", {"p_hotel_id": external, "p_api_key_sealed": vault.seal("stolen")}),
        ("pms_set_webhook_secret", {"p_hotel_id": external, "p_webhook_secret_sealed": vault.seal("stolen")}),
        ("pms_finish_fetch", {"p_id": row}),
    ):
        try:
            call(admin, name, **args)
            refusals[name] = "ok"
        except psycopg.Error as exc:
            refusals[name] = exc.sqlstate
        admin.rollback()
    assert refusals == {
        "pms_enqueue_fetch": sqlstate("PMS_HOTEL_NOT_FOUND"),
        "pms_set_api_key": sqlstate("PMS_HOTEL_NOT_FOUND"),
        "pms_set_webhook_secret": sqlstate("PMS_HOTEL_NOT_FOUND"),
        "pms_finish_fetch": sqlstate("INVALID_ARGUMENT"),  # the same as an id that does not exist
    }
    assert call(admin, "pms_claim_fetches") == []  # its hotel has none; the other hotel's is not claimed
    admin.rollback()
    assert db.execute("select attempts, done_at from core.pms_fetch_queue").fetchone() == (0, None)
    assert db.execute("select count(*) from core.pms_fetch_queue").fetchone()[0] == 1
