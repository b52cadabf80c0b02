"""Pull consumers: at-least-once reading with acknowledgements, wanted types, LISTEN/NOTIFY
wake-ups, order under concurrent writers, retention; and the reactions the seed names."""

from __future__ import annotations

import random
import select
import threading
import time

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.events import (
    add_webhook,
    all_readable,
    create_customer,
    make_hotel,
    set_status,
    touch_customer,
    wait_readable,
)


def read(conn: psycopg.Connection, consumer: str, limit: int = 100) -> list[tuple]:
    return conn.execute(
        "select event_id, type, aggregate_id, aggregate_seq, payload from api.read_events(%s, %s)",
        (consumer, limit),
    ).fetchall()


def read_when(conn: psycopg.Connection, consumer: str, count: int, limit: int = 100) -> list[tuple]:
    """read once every committed event is readable (an event is, once no older transaction of the
    cluster runs: the harness drops the previous test's database in the background), and check
    that ``count`` events came."""
    wait_readable(conn)
    rows = read(conn, consumer, limit)
    assert len(rows) >= count, f"{consumer}: {len(rows)} of {count} events"
    return rows


def code_of(excinfo) -> str:
    return excinfo.value.diag.message_primary


def test_events_come_again_until_acknowledged(db: psycopg.Connection) -> None:
    hotel = make_hotel(db)
    for status in ("dirty", "clean", "inspected"):
        set_status(db, hotel, hotel.room_ids[0], status)
    first = read_when(db, "hotel-pms", 2, 2)
    assert [r[1] for r in first] == ["room.status_changed"] * 2
    assert read(db, "hotel-pms", 2) == first  # not acknowledged: the same again
    db.execute("select api.ack_events('hotel-pms', %s)", (first[0][0],))
    again = read_when(db, "hotel-pms", 2, 10)
    assert again[0] == first[1] and len(again) == 2
    db.execute("select api.ack_events('hotel-pms', %s)", (again[-1][0],))
    assert read(db, "hotel-pms") == []
    # acknowledging an older event changes nothing
    moved = db.execute("select api.ack_events('hotel-pms', %s)", (first[0][0],)).fetchone()[0]
    assert moved["moved"] is False and read(db, "hotel-pms") == []
    with pytest.raises(psycopg.Error) as exc:
        db.execute("select api.ack_events('hotel-pms', 'evt_nope')")
    assert code_of(exc) == "EVENT_NOT_FOUND"
    with pytest.raises(psycopg.Error) as exc:
        read(db, "nobody")
    assert code_of(exc) == "CONSUMER_NOT_FOUND"


def test_a_consumer_gets_the_types_it_wants_and_passes_the_others(db: psycopg.Connection) -> None:
    hotel = make_hotel(db)
    db.execute("select api.subscribe_events('pms-rooms', array['room.*'], 'pms')")
    customers = [create_customer(db, i) for i in range(3)]
    set_status(db, hotel, hotel.room_ids[1], "dirty")
    touch_customer(db, customers[0], "Nara")
    got = read_when(db, "pms-rooms", 1)
    assert [r[1] for r in got] == ["room.status_changed"]
    # the unwanted events before it were passed: the cursor moved up to the last one of them
    cursor = db.execute("select cursor_id from core.event_consumers where name = 'pms-rooms'").fetchone()[0]
    assert (
        cursor == db.execute("select max(id) from core.events where type = 'customer.created'").fetchone()[0]
    )
    with pytest.raises(psycopg.Error) as exc:
        db.execute("select api.subscribe_events('pms-x', array['rooms.*'], 'pms')")
    assert code_of(exc) == "EVENT_TYPE_UNKNOWN"
    webhook, _ = add_webhook(db, "http://127.0.0.1:9/h", ["*"])
    with pytest.raises(psycopg.Error) as exc:
        db.execute("select api.read_events(%s, 10)", (f"webhook-{webhook}",))
    assert code_of(exc) == "CONSUMER_KIND_MISMATCH"


def test_the_front_desk_is_woken_by_a_room_status_change(db: psycopg.Connection, fresh_db: str) -> None:
    hotel = make_hotel(db)
    with psycopg.connect(fresh_db, autocommit=True) as front_desk:
        front_desk.execute("listen hotelcore_events")
        assert read(front_desk, "hotel-pms") == []  # building the hotel published nothing
        set_status(db, hotel, hotel.room_ids[2], "out_of_order")
        # the commit wakes it (the wait only bounds a notification that never comes)
        ready, _, _ = select.select([front_desk.fileno()], [], [], 240)
        assert ready, "no notification"
        assert list(front_desk.notifies(timeout=0))
        # a transaction elsewhere in the cluster may hold the xmin back a moment
        wait_readable(front_desk)
        got = read(front_desk, "hotel-pms")
        assert got[0][1] == "room.status_changed" and got[0][4]["to_status"] == "out_of_order"


@pytest.mark.slow
def test_a_consumer_reading_and_acknowledging_under_8_writers_gets_every_event_in_aggregate_order(
    fresh_db: str,
) -> None:
    writers, per_writer, aggregates = 8, 20, 5
    stop = threading.Event()
    seen: list[tuple] = []
    errors: list[BaseException] = []

    def consumer() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                drained = False
                while True:
                    done = stop.is_set()
                    rows = read(conn, "hotel-member", 50)
                    seen.extend(rows)
                    if rows:
                        conn.execute("select api.ack_events('hotel-member', %s)", (rows[-1][0],))
                    elif drained:
                        return
                    elif done:
                        # every writer has committed: once every event is readable (a transaction
                        # elsewhere in the cluster may hold the xmin back), an empty read is the end
                        drained = all_readable(conn)
                    time.sleep(0.002)
        except BaseException as exc:
            errors.append(exc)

    def writer(i: int) -> None:
        rnd = random.Random(i)
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                for _ in range(per_writer):
                    with conn.transaction():
                        conn.execute("select pg_current_xact_id()")
                        time.sleep(rnd.random() * 0.01)
                        conn.execute(
                            "select internal.emit_event('customer.updated', %s, null, %s)",
                            (
                                str(rnd.randrange(aggregates)),
                                Jsonb({"changed_fields": ["city"], "changes": {"city": "x"}}),
                            ),
                        )
                        time.sleep(rnd.random() * 0.02)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=consumer)
    reader.start()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()  # it ends on the condition above (pytest's timeout bounds a hang)
    assert not errors, errors
    with psycopg.connect(fresh_db) as conn:
        committed = {r[0] for r in conn.execute("select event_id from core.events")}
    assert len(seen) == len(committed) == writers * per_writer
    assert {r[0] for r in seen} == committed
    last: dict[str, int] = {}
    for _, _, aggregate, seq, _ in seen:
        assert seq == last.get(aggregate, 0) + 1
        last[aggregate] = seq


def test_retention_purges_old_events_every_consumer_passed_in_batches(db: psycopg.Connection) -> None:
    customers = [create_customer(db, i) for i in range(5)]
    for c in customers:
        touch_customer(db, c, "Sendai")
    # a new endpoint starts after the events readable when it is added (the ones a transaction
    # elsewhere still hides would come to it too: at least once)
    wait_readable(db)
    webhook, _ = add_webhook(db, "http://127.0.0.1:9/h", ["customer.*"])
    touch_customer(db, customers[0], "Akita")  # fanned out below, left pending
    wait_readable(db)
    fanned = db.execute("select api.fanout_webhook_events()").fetchone()[0]
    db.execute("update core.events set recorded_at = recorded_at - interval '31 days'")
    # nobody acknowledged: nothing goes
    assert db.execute("select api.purge_events()").fetchone()[0] == 0
    for name in ("hotel-member", "hotel-pms", "hotel-saas"):
        rows = read_when(db, name, 11, 1000)
        db.execute("select api.ack_events(%s, %s)", (name, rows[-1][0]))
    db.execute("update core.event_settings set purge_batch = 4")
    batches = []
    while n := db.execute("select api.purge_events()").fetchone()[0]:
        batches.append(n)
    state = db.execute(
        "select name, cursor_order_xid::text, cursor_id, disabled_at is null from core.event_consumers order by id desc"
    ).fetchall()
    events = db.execute(
        "select id, order_xid::text, recorded_at < clock_timestamp() - interval '30 days' from core.events order by id"
    ).fetchall()
    assert fanned == 1 and batches == [4, 4, 2], (fanned, state, events)
    left = db.execute(
        "select e.type, d.status from core.events e join core.webhook_deliveries d on d.event_pk = e.id"
    ).fetchall()
    assert left == [("customer.updated", "pending")], "the pending delivery keeps its event"
    db.execute("update core.event_settings set retention = interval '40 days'")
    assert db.execute("select count(*) from core.events").fetchone()[0] == 1


def test_check_out_publishes_the_final_folio_and_a_rank_change_is_recorded_and_published(
    db: psycopg.Connection,
) -> None:
    from test_api_bad_input import build_fixture

    fixture = build_fixture(db)
    in_house = int(fixture["in_house"])
    due = db.execute(
        "select b.balance + (select sum(l.nightly[1]) from core.reservation_rooms l where l.reservation_id = %s)"
        " from api.folio_balances b where b.reservation_id = %s",
        (in_house, in_house),
    ).fetchone()[0]
    db.execute("select api.authorise_payment(%s, 'cash', %s, p_capture => true)", (in_house, due))
    db.execute("select * from api.check_out(%s)", (in_house,))
    folio = db.execute(
        "select payload -> 'folio' from core.events where type = 'checkin_checkout.checked_out' and aggregate_id = %s",
        (str(in_house),),
    ).fetchone()[0]
    assert folio["balance"] == 0 and folio["settled_at"] is not None and folio["charges"] > 0
    checked_in = db.execute(
        "select count(*) from core.events where type = 'checkin_checkout.checked_in' and aggregate_id = %s",
        (str(in_house),),
    ).fetchone()[0]
    assert checked_in == 1  # published for guest services
    customer = int(fixture["p_customer_id"])
    db.execute("select api.set_customer_rank(%s, 'gold', 'vip')", (customer,))
    history = db.execute(
        "select from_rank, to_rank from core.rank_history where customer_id = %s", (customer,)
    ).fetchall()
    event = db.execute(
        "select payload ->> 'from_rank', payload ->> 'to_rank', payload ->> 'source' from core.events"
        " where type = 'customer.rank_changed' and aggregate_id = %s",
        (str(customer),),
    ).fetchall()
    assert history == [("bronze", "gold")] and event == [("bronze", "gold", "manual")]
