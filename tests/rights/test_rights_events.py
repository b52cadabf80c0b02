"""Each consumer sees what its system may read (seed 000's matrix, the same rules as the roles),
cell by cell, read through api.read_events as that system's login over a real connection:

- hotel-saas gets no room.* events and no room counts or room numbers in reservation events;
- hotel-pms gets customer events without preferences and marketing consent (and no event for an
  update that changed only those);
- hotel-member gets room and customer events in full, but no folio (it does not read billing);
- every consumer only the hotels of its login or key; a system cannot read another's consumer;
- webhook administration and the dispatcher's functions belong to hotelcore_admin only.

Every cell runs in a transaction that is rolled back."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import DENIED, raises_code
from tests.support.events import wait_readable
from tests.support.rights import World
from tests.support.sql import call, scalar


@pytest.fixture(scope="module")
def events_world(shared_db: str, shared_world: World) -> World:
    """The rights world, plus two customer updates: one of preferences only, one of the city and
    the marketing consent."""
    with psycopg.connect(shared_db, autocommit=True) as db:
        for changes in (
            {"preferences": {"pillow": "feather"}},
            {"city": "Kyoto", "marketing_consent": False},
        ):
            version = scalar(db, "get_customer", p_customer_id=shared_world.customer)["version"]
            scalar(
                db,
                "update_customer",
                p_customer_id=shared_world.customer,
                p_expected_version=version,
                p_changes=Jsonb(changes),
            )
    with psycopg.connect(shared_db, autocommit=True) as db:
        wait_readable(db)
    return shared_world


def read_all(conn: psycopg.Connection, consumer: str) -> list[dict]:
    return call(conn, "read_events", p_consumer=consumer, p_limit=10000)


def by_type(events: list[dict], prefix: str) -> list[dict]:
    return [e for e in events if e["type"].startswith(prefix)]


@pytest.fixture
def as_system(events_world: World, shared_connect_as):
    opened = []

    def connect(system: str) -> psycopg.Connection:
        conn = shared_connect_as(system)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.rollback()


def test_the_log_holds_every_kind_the_cells_look_at(shared_db: str, events_world: World) -> None:
    with psycopg.connect(shared_db) as db:
        kinds = {r[0] for r in db.execute("select distinct type from core.events")}
    assert {
        "room.status_changed",
        "room.maintenance_updated",
        "reservation.created",
        "checkin_checkout.checked_out",
        "customer.created",
        "customer.updated",
    } <= kinds


def test_saas_gets_no_room_events_and_no_room_counts(as_system) -> None:
    events = read_all(as_system("saas"), "hotel-saas")
    assert by_type(events, "reservation.") and by_type(events, "checkin_checkout.")
    assert by_type(events, "room.") == []
    for e in by_type(events, "reservation.") + by_type(events, "checkin_checkout."):
        assert "rooms" not in e["payload"] and "room_numbers" not in e["payload"], e
    # saas reads billing: the check-out's folio is there
    assert all("folio" in e["payload"] for e in by_type(events, "checkin_checkout.checked_out"))


def test_pms_gets_customer_events_without_preferences_or_marketing_consent(
    as_system, events_world: World
) -> None:
    events = by_type(read_all(as_system("pms"), "hotel-pms"), "customer.")
    created = [
        e
        for e in events
        if e["type"] == "customer.created" and e["aggregate_id"] == str(events_world.customer)
    ]
    assert created and created[0]["payload"]["family_name"] == "Sato"
    for e in events:
        assert "preferences" not in e["payload"] and "marketing_consent" not in e["payload"], e
        assert "preferences" not in e["payload"].get("changes", {})
        assert "marketing_consent" not in e["payload"].get("changed_fields", [])
    updates = [
        e
        for e in events
        if e["type"] == "customer.updated" and e["aggregate_id"] == str(events_world.customer)
    ]
    # the preferences-only update is not news for the PMS; the other names only the city
    assert [u["payload"]["changed_fields"] for u in updates] == [["city"]]
    # pms reads rooms
    assert by_type(read_all(as_system("pms"), "hotel-pms"), "room.status_changed")


def test_saas_and_member_get_customer_events_with_preferences(as_system, events_world: World) -> None:
    for system in ("saas", "member"):
        events = by_type(read_all(as_system(system), f"hotel-{system}"), "customer.updated")
        mine = [
            e["payload"]["changed_fields"] for e in events if e["aggregate_id"] == str(events_world.customer)
        ]
        assert mine == [["preferences"], ["city", "marketing_consent"]], system


def test_member_gets_room_events_but_no_folio(as_system) -> None:
    events = read_all(as_system("member"), "hotel-member")
    assert by_type(events, "room.status_changed") and by_type(events, "room.maintenance_updated")
    checked_out = by_type(events, "checkin_checkout.checked_out")
    assert checked_out and all("folio" not in e["payload"] for e in checked_out)
    assert all("rooms" in e["payload"] for e in by_type(events, "reservation.created"))


@pytest.mark.parametrize("system", ["member", "pms", "saas"])
def test_a_consumer_sees_only_the_hotels_of_its_login(
    system: str, events_world: World, shared_db: str, shared_connect_as, logins
) -> None:
    with psycopg.connect(shared_db, autocommit=True) as owner:
        owner.execute(
            "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)",
            (logins[system], events_world.a.id),
        )
    conn = shared_connect_as(system)
    try:
        conn.rollback()
        scalar(conn, "subscribe_events", p_consumer=f"{system}-a", p_event_types=["*"])
        events = read_all(conn, f"{system}-a")
        conn.commit()
        # a new consumer starts after what is committed: nothing yet, then a new change of each hotel
        assert events == []
        with psycopg.connect(shared_db, autocommit=True) as owner:
            for h in (events_world.a, events_world.b):
                call(owner, "set_room_status", p_hotel_id=h.id, p_room_id=h.room_ids[4], p_status="dirty")
                call(
                    owner,
                    "modify_reservation",
                    p_reservation_id=events_world.future[h.id],
                    p_version=scalar(owner, "get_reservation", p_reservation_id=events_world.future[h.id])[
                        "version"
                    ],
                    p_special_requests=f"quiet room {system}",
                )
        with psycopg.connect(shared_db, autocommit=True) as owner:
            wait_readable(owner)
        conn.rollback()  # a snapshot taken after the commits
        events = read_all(conn, f"{system}-a")
        assert events, "the hotel-A changes reach the consumer"
        assert {e["hotel_id"] for e in events} == {events_world.a.id}
        # the unscoped system consumer would pass hotel B's events: the scoped login may not read it
        with raises_code("PERMISSION_DENIED"):
            read_all(conn, f"hotel-{system}")
    finally:
        conn.rollback()
        with psycopg.connect(shared_db, autocommit=True) as owner:
            owner.execute("delete from core.login_hotels where role_name = %s", (logins[system],))
            owner.execute("delete from core.event_consumers where name = %s", (f"{system}-a",))


@pytest.mark.parametrize(("system", "other"), [("saas", "pms"), ("pms", "member"), ("member", "saas")])
def test_a_system_cannot_read_or_acknowledge_another_systems_consumer(
    system: str, other: str, as_system
) -> None:
    conn = as_system(system)
    for fn, extra in (("read_events", {}), ("ack_events", {"p_up_to": "evt_x"})):
        with raises_code("CONSUMER_NOT_FOUND"):  # not even its existence is confirmed
            call(conn, fn, p_consumer=f"hotel-{other}", **extra)
        conn.rollback()


@pytest.mark.parametrize("system", ["member", "pms", "saas"])
def test_a_system_cannot_subscribe_as_another_system(system: str, as_system) -> None:
    other = "pms" if system != "pms" else "saas"
    with raises_code("PERMISSION_DENIED"):
        call(as_system(system), "subscribe_events", p_consumer="spy", p_event_types=["*"], p_system=other)


@pytest.mark.parametrize("system", ["member", "pms", "saas", "bi"])
@pytest.mark.parametrize(
    "query",
    [
        "select * from api.add_webhook('http://127.0.0.1:9/x', array['*'], 'fernet:x')",
        "select * from api.list_webhooks()",
        "select api.rotate_webhook_secret(1, 'fernet:x')",
        "select * from api.webhook_sealed_secrets()",
        "select api.reseal_webhook_secrets(1, 'fernet:x', null, 'fernet:y', null)",
        "select api.fanout_webhook_events()",
        "select * from api.claim_webhook_deliveries('spy')",
        "select api.purge_events()",
    ],
)
def test_webhooks_and_the_dispatcher_are_for_admins_only(system: str, query: str, as_system) -> None:
    with pytest.raises(psycopg.Error) as exc:
        as_system(system).execute(query)
    assert exc.value.sqlstate in DENIED


def test_bi_reads_no_events_but_the_ops_views(as_system) -> None:
    bi = as_system("bi")
    with pytest.raises(psycopg.Error) as exc:
        call(bi, "read_events", p_consumer="hotel-pms")
    assert exc.value.sqlstate in DENIED
    bi.rollback()
    lag = bi.execute("select consumer, unread from report.event_consumer_lag order by consumer").fetchall()
    assert [r[0] for r in lag] == ["hotel-member", "hotel-pms", "hotel-saas"]
