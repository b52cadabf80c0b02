"""pyapi.client: bound calls, SQLSTATE mapping from the registry, whole-transaction retries."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from pyapi.client import Client, HotelcoreError
from tests.support.errors import sqlstate


def test_client_calls_the_api_and_maps_refusals(client, hotel):
    rows = client.call(
        "search_availability", p_hotel_id=hotel.id, p_check_in=hotel.day(1), p_check_out=hotel.day(2)
    )
    assert rows and "total" in rows[0]
    with pytest.raises(HotelcoreError) as excinfo:
        client.call(
            "search_availability", p_hotel_id=999999, p_check_in=hotel.day(1), p_check_out=hotel.day(2)
        )
    err = excinfo.value
    assert (err.sqlstate, err.name, err.http_status) == (sqlstate("HOTEL_NOT_FOUND"), "HOTEL_NOT_FOUND", 404)
    assert "999999" in err.detail and err.hint


def test_the_mapping_comes_from_the_registry(client):
    assert client.codes[sqlstate("CONCURRENCY_CONFLICT")].name == "CONCURRENCY_CONFLICT"
    assert len(client.codes) >= 40


def test_retries_the_whole_transaction_then_reports_a_conflict(db):
    attempts = []

    def work(conn):
        attempts.append(1)
        conn.execute("select 1")
        raise psycopg.errors.SerializationFailure("could not serialize access")

    client = Client.for_connection(db, attempts=3, backoff_initial=0.001, backoff_max=0.002)
    with pytest.raises(HotelcoreError) as excinfo:
        client.transaction(work)
    assert len(attempts) == 3
    assert excinfo.value.sqlstate == sqlstate("CONCURRENCY_CONFLICT") and excinfo.value.http_status == 409


def test_a_retry_that_succeeds_returns_the_result(db):
    attempts = []

    def work(conn):
        attempts.append(1)
        if len(attempts) < 2:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return conn.execute("select 42").fetchone()[0]

    assert Client.for_connection(db, backoff_initial=0.001).transaction(work) == 42


def test_float_arguments_are_sent_as_numeric(client, hotel):
    assert client.value("set_pricing_rule", p_hotel_id=hotel.id, p_kind="weekend", p_multiplier=1.15) > 0
    assert (
        client.value(
            "create_season",
            p_hotel_id=hotel.id,
            p_code="x",
            p_name="X",
            p_from=hotel.day(1),
            p_until=hotel.day(3),
        )
        > 0
    )
    assert isinstance(hotel.day(1), dt.date)
