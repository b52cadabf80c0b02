"""Seed 001's error handling: retries with backoff, the circuit breaker (5 failures -> open ->
half-open), degraded mode (writes 503 with retry_after, reads go on) when the gateway circuit is
open or the database is read-only, and PostgreSQL conflicts / timeouts mapped to 409 / 503."""

from __future__ import annotations

import time
from decimal import Decimal

import psycopg
import pytest

from pyapi.checkout.gateway import (
    CircuitOpen,
    GatewayDeclined,
    GatewayTimeout,
    Resilience,
    ResilientGateway,
    SimulatedGateway,
)
from pyapi.errors import ErrorMap
from tests.support.http import assert_clean, checkout_body


def test_retries_use_exponential_backoff_from_500_ms():
    waits = []
    gw = ResilientGateway(SimulatedGateway(script="timeout"), Resilience(sleep=waits.append))
    with pytest.raises(GatewayTimeout):
        gw.preauthorise(reference="r", amount=Decimal(1), currency="KRW", card_token="tok")
    assert waits == [0.5, 1.0]  # 3 tries: 500 ms, then 1 s


def test_breaker_opens_after_five_failures_then_half_opens():
    inner = SimulatedGateway(script="timeout")
    gw = ResilientGateway(inner, Resilience(tries=1, backoff_base=0, fail_max=5, reset_timeout=0.2))
    for _ in range(5):
        with pytest.raises(GatewayTimeout):
            gw.preauthorise(reference="r", amount=Decimal(1), currency="KRW", card_token="tok")
    with pytest.raises(CircuitOpen) as excinfo:
        gw.preauthorise(reference="r", amount=Decimal(1), currency="KRW", card_token="tok")
    assert 0 < excinfo.value.retry_after <= 0.2
    assert len(inner.calls) == 5  # the open circuit did not call the gateway
    while gw.open_for() is not None:
        time.sleep(0.02)
    inner.script = None  # the gateway is back: the trial call closes the circuit
    assert gw.preauthorise(reference="r2", amount=Decimal(1), currency="KRW", card_token="tok")
    assert gw.breaker.current_state == "closed"


def test_declines_do_not_open_the_breaker():
    gw = ResilientGateway(SimulatedGateway(script="decline"), Resilience(tries=3, backoff_base=0))
    for _ in range(7):
        with pytest.raises(GatewayDeclined):
            gw.preauthorise(reference="r", amount=Decimal(1), currency="KRW", card_token="tok")
    assert gw.open_for() is None
    assert len(gw.inner.calls) == 7  # not retried either


def test_open_circuit_puts_writes_in_degraded_mode_reads_go_on(make_client, world, db):
    # the gateway times out on everything (pre-authorisations and the voids compensating them)
    gw = SimulatedGateway(script="timeout")
    client = make_client(gw, resilience=Resilience(tries=1, backoff_base=0, fail_max=5, reset_timeout=60))
    codes = []
    while len(codes) < 6 and (not codes or codes[-1] != "SERVICE_DEGRADED"):
        r = client.post(
            "/api/booking/checkout",
            json=checkout_body(world.a, email=f"t{len(codes)}@x.io"),
            headers=world.headers("pms_a"),
        )
        codes.append(r.json()["error"]["code"])
    assert codes[0] == "PAYMENT_PREAUTH_FAILED" and codes[-1] == "SERVICE_DEGRADED"
    assert r.status_code == 503
    assert 0 < r.json()["error"]["retry_after"] <= 60000 and int(r.headers["Retry-After"]) >= 1
    assert len(gw.calls) == 5  # the open circuit calls the gateway no more
    r = client.put(
        f"/api/v2/pms/rooms/{world.a.room_ids[0]}/status",
        headers=world.headers("pms_a"),
        json={"status": "dirty"},
    )
    assert (r.status_code, r.json()["error"]["details"]["reason"]) == (
        503,
        "the payment gateway circuit is open",
    )
    assert (
        client.get(f"/api/v2/pms/rooms?hotel_id={world.a.id}", headers=world.headers("pms_a")).status_code
        == 200
    )
    assert client.get("/health").json()["data"]["status"] == "degraded"
    # holds were released even though the voids are still owed (recovery retries them)
    assert db.execute("select count(*) from core.holds where status = 'active'").fetchone()[0] == 0
    assert_clean(db)


def test_read_only_database_puts_writes_in_degraded_mode(make_client, world, db):
    client = make_client()
    db.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
    )
    dbname = db.execute("select current_database()").fetchone()[0]
    db.execute(f'alter database "{dbname}" set default_transaction_read_only = on')
    try:
        client.app.state.hc.db.pool.check()  # connections reopen with the new default
        r = client.post("/api/booking/checkout", json=checkout_body(world.a), headers=world.headers("pms_a"))
        assert (r.status_code, r.json()["error"]["code"]) == (503, "SERVICE_DEGRADED")
        assert r.json()["error"]["retry_after"] > 0
        r = client.put(
            f"/api/v2/pms/rooms/{world.a.room_ids[0]}/status",
            headers=world.headers("pms_a"),
            json={"status": "dirty"},
        )
        assert (r.status_code, r.json()["error"]["details"]["reason"]) == (503, "the database is read-only")
        assert (
            client.get(f"/api/v2/pms/rooms?hotel_id={world.a.id}", headers=world.headers("pms_a")).status_code
            == 200
        )
    finally:
        db.execute(f'alter database "{dbname}" reset default_transaction_read_only')


@pytest.mark.parametrize(
    "sqlstate, status, name",
    [
        ("23P01", 409, "CONCURRENCY_CONFLICT"),
        ("40001", 409, "CONCURRENCY_CONFLICT"),
        ("40P01", 409, "CONCURRENCY_CONFLICT"),
        ("55P03", 503, "SERVICE_DEGRADED"),
        ("57014", 503, "SERVICE_DEGRADED"),
        ("22003", 400, "INVALID_ARGUMENT"),
        ("XX000", 500, "INTERNAL_ERROR"),
    ],
)
def test_postgres_errors_map_to_http(db, sqlstate, status, name):
    errors = ErrorMap.load(db)
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute(f"do $$ begin raise exception using errcode = '{sqlstate}', message = 'x'; end $$")
    err = errors.from_db(excinfo.value)
    assert (err.http_status, err.code) == (status, name)
    if status == 503:
        assert err.retry_after_ms > 0


def test_statement_timeout_is_a_503_envelope(client, world, db):
    dbname = db.execute("select current_database()").fetchone()[0]
    db.execute(f'alter database "{dbname}" set lock_timeout = 50')
    client.app.state.hc.db.pool.check()
    with db.transaction():
        db.execute("select 1 from core.rooms where id = %s for update", [world.a.room_ids[0]])
        db.execute(
            f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{dbname}' "
            "and pid <> pg_backend_pid()"
        )
        r = client.put(
            f"/api/v2/pms/rooms/{world.a.room_ids[0]}/status",
            headers=world.headers("pms_a"),
            json={"status": "dirty"},
        )
    db.execute(f'alter database "{dbname}" reset lock_timeout')
    assert (r.status_code, r.json()["error"]["code"]) == (503, "SERVICE_DEGRADED")
