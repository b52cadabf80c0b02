"""The event log's core: one writer function, per-aggregate sequences, and a reading order that
never skips a row committed late."""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

from tests.support.events import all_readable


def emit(conn: psycopg.Connection, type_: str, aggregate_id: str, payload: dict | None = None) -> str:
    return conn.execute(
        "select internal.emit_event(%s, %s, null, %s::jsonb)",
        (type_, aggregate_id, psycopg.types.json.Jsonb(payload or {})),
    ).fetchone()[0]


def test_an_event_gets_a_stable_id_and_the_next_sequence_of_its_aggregate(db):
    first = emit(db, "customer.updated", "7", {"changed_fields": ["phone"]})
    second = emit(db, "customer.rank_changed", "7")
    other = emit(db, "reservation.created", "7")
    rows = db.execute(
        "select event_id, aggregate_kind, aggregate_seq from core.events order by id"
    ).fetchall()
    assert rows == [(first, "customer", 1), (second, "customer", 2), (other, "reservation", 1)]
    assert all(r[0].startswith("evt_") and len(r[0]) == 36 for r in rows)


def test_a_rolled_back_change_leaves_no_event(db):
    with pytest.raises(psycopg.errors.DivisionByZero):
        with db.transaction():
            emit(db, "customer.created", "1")
            db.execute("select 1 / 0")
    assert db.execute("select count(*) from core.events").fetchone()[0] == 0
    assert db.execute("select count(*) from core.event_streams").fetchone()[0] == 0


def test_an_unknown_type_or_a_non_object_payload_is_refused(db):
    with pytest.raises(psycopg.Error) as bad_type:
        emit(db, "customer.exploded", "1")
    assert bad_type.value.diag.message_primary == "INVALID_ARGUMENT"
    with pytest.raises(psycopg.Error) as bad_payload:
        db.execute("select internal.emit_event('customer.created', '1', null, '[1]'::jsonb)")
    assert bad_payload.value.diag.message_primary == "INVALID_ARGUMENT"


def test_several_events_of_one_aggregate_take_the_next_sequences_in_the_order_given(db):
    before = emit(db, "reservation.updated", "9")
    ids = db.execute(
        "select internal.emit_events(array['reservation.created', 'reservation.confirmed'], '9', null, '{}'::jsonb)"
    ).fetchone()[0]
    rows = db.execute(
        "select event_id, type, aggregate_seq from core.events where aggregate_id = '9' order by id"
    ).fetchall()
    assert rows == [
        (before, "reservation.updated", 1),
        (ids[0], "reservation.created", 2),
        (ids[1], "reservation.confirmed", 3),
    ]
    assert (
        db.execute(
            "select last_seq from core.event_streams where aggregate_kind = 'reservation' and aggregate_id = '9'"
        ).fetchone()[0]
        == 3
    )


@pytest.mark.parametrize(
    "types",
    [
        "array['reservation.created', 'customer.created']",  # two aggregate kinds
        "array['reservation.created', 'reservation.exploded']",  # one unknown
        "array['reservation.created', null]",
        "array[]::text[]",
    ],
)
def test_events_of_several_kinds_or_unknown_types_are_refused_whole(db, types):
    with pytest.raises(psycopg.Error) as refused:
        db.execute(f"select internal.emit_events({types}, '9', null, '{{}}'::jsonb)")
    assert refused.value.diag.message_primary == "INVALID_ARGUMENT"
    assert db.execute("select count(*) from core.events where aggregate_id = '9'").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", "'[1]'::jsonb"),  # not an object
        ("aggregate_seq", "0"),
        ("schema_version", "0"),
        ("order_xid", "'1'::xid8"),  # before the writing transaction
    ],
)
def test_a_malformed_event_row_is_refused_by_the_log_itself(db, column, value):
    """internal.emit_events never writes such a row; the table refuses one written around it."""
    row = {
        "type": "'customer.updated'",
        "aggregate_kind": "'customer'",
        "aggregate_id": "'1'",
        "aggregate_seq": "1",
        "schema_version": "1",
        "payload": "'{}'::jsonb",
        "occurred_at": "now()",
        "order_xid": "pg_current_xact_id()",
    } | {column: value}
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        db.execute(f"insert into core.events ({', '.join(row)}) values ({', '.join(row.values())})")
    assert refused.value.diag.constraint_name == "events_well_formed"


def _read_all(conn: psycopg.Connection, position: tuple) -> tuple[list[tuple], tuple]:
    rows = conn.execute(
        "select order_xid::text, id, aggregate_id, aggregate_seq from internal.events_after(%s::xid8, %s, 500)",
        position,
    ).fetchall()
    if rows:
        position = (rows[-1][0], rows[-1][1])
    return rows, position


@pytest.mark.slow
def test_a_polling_reader_never_skips_a_late_commit_and_keeps_each_aggregate_in_order(fresh_db):
    """8 writers commit after random delays, on a few shared aggregates (so they wait for each
    other's locks in both orders); a reader walks the log all the while from its last position.
    Afterwards the set read equals the set committed, and each aggregate's events came in
    sequence order."""
    writers, per_writer, aggregates = 8, 25, 5
    stop = threading.Event()
    seen: list[tuple] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                position = ("0", 0)
                drained = False
                while True:
                    done = stop.is_set()
                    rows, position = _read_all(conn, position)
                    seen.extend(rows)
                    if done and not rows:
                        # every writer has committed; a transaction elsewhere in the cluster (a
                        # database being dropped) may still hold the snapshot's xmin back, which
                        # only delays the last rows: once every event is readable, an empty read
                        # is the end
                        if drained:
                            return
                        drained = all_readable(conn)
                    time.sleep(0.002)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def writer(i: int) -> None:
        rnd = random.Random(i)
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                for _ in range(per_writer):
                    with conn.transaction():
                        # an xid first, so an older transaction can end up behind a younger one
                        conn.execute("select pg_current_xact_id()")
                        time.sleep(rnd.random() * 0.01)
                        emit(conn, "reservation.updated", str(rnd.randrange(aggregates)))
                        time.sleep(rnd.random() * 0.02)
        except BaseException as exc:
            errors.append(exc)

    read = threading.Thread(target=reader)
    read.start()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    read.join()  # it ends on the condition above (pytest's timeout bounds a hang)
    assert not errors, errors

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        committed = conn.execute("select id from core.events").fetchall()
    assert len(committed) == writers * per_writer
    assert sorted(r[1] for r in seen) == sorted(r[0] for r in committed)  # nothing skipped, nothing twice
    last: dict[str, int] = {}
    for _, _, aggregate, seq in seen:
        assert seq == last.get(aggregate, 0) + 1, f"aggregate {aggregate}: {seq} after {last.get(aggregate)}"
        last[aggregate] = seq
