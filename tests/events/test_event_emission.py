"""Every state-changing api function publishes the events of seed 000 for what it changed, and
nothing else: the test reads the api functions from the catalog, calls each one on the bad-input
sweep's fixture (tests/test_api_bad_input.py) with a valid call, in a transaction that is rolled
back, and compares the event types written with EXPECTED. A function missing from EXPECTED fails
the test, unless it publishes only service.* / feedback.* events (guest services map their own).
Afterwards the log holds exactly the fixture's events: a rolled-back call leaves none."""

from __future__ import annotations

import psycopg
import pytest
from test_api_bad_input import STATEMENT_TIMEOUT, api_functions, baseline, build_fixture, call_sql

from pyapi.dispatch import new_secret
from tests.support.events import wait_readable

# name -> the event types one valid call writes
EXPECTED: dict[str, set[str]] = {
    # hotel-member: customers, ranks, points
    "create_customer": {"customer.created"},
    "find_or_create_guest": {"customer.created"},
    "update_customer": {"customer.updated"},
    "update_customer_basic": {"customer.updated"},
    "merge_customers": {"customer.updated"},  # the duplicate has no points to move
    "set_customer_rank": {"customer.rank_changed"},
    "adjust_points": {"customer.points_changed"},
    "redeem_points": {"customer.points_changed"},
    "earn_stay_points": {"customer.points_changed"},
    "earn_due_stay_points": {"customer.points_changed"},
    "expire_points": set(),  # nothing due in the fixture; an expiry is a points entry like any other
    "set_loyalty_settings": set(),
    # conflicts: the fixture's detect call is an up-to-date write (applied), its resolve closes the
    # fixture's open conflict
    "detect_conflicts": {"customer.updated"},
    "resolve_conflict": {"customer.conflict_resolved"},
    # reservations (a booking is confirmed when made)
    "confirm_booking": {"reservation.created", "reservation.confirmed"},
    "book_reservation": {"reservation.created", "reservation.confirmed"},
    "modify_reservation": {"reservation.updated"},
    "cancel_reservation": {"reservation.cancelled"},
    "mark_no_show": {"checkin_checkout.no_show"},
    "run_night_audit": {"checkin_checkout.no_show"},  # the arrival of the fixture did not come
    "checkout_begin": {"customer.created"},  # the guest profile of the booking
    "checkout_start": {"customer.created"},  # checkout_begin's guest profile (and the hold: nothing)
    "checkout_confirm_authorised": {"reservation.created", "reservation.confirmed"},  # checkout_confirm's
    "create_hold": set(),
    "release_hold": set(),
    "expire_holds": set(),
    "join_waitlist": set(),
    "offer_waitlist": set(),
    "leave_waitlist": set(),
    "expire_waitlist": set(),
    # the stay: the check-in publishes the room it gave; the check-out the final folio and the
    # room it left dirty (the fixture's guest leaves early: the shortened stay is an update);
    # moving a guest changes the stay's rooms and makes the old room dirty
    "check_in": {"checkin_checkout.checked_in"},
    "check_out": {"checkin_checkout.checked_out", "reservation.updated", "room.status_changed"},
    "assign_room": {"reservation.updated"},
    "move_room": {"reservation.updated", "room.status_changed"},
    # rooms
    "set_room_status": {"room.status_changed"},
    "update_room": {"room.status_changed"},  # a status, with the version read
    "block_room": {"room.maintenance_updated"},
    "unblock_room": {"room.maintenance_updated"},
    # property, rates, billing, keys and the checkout saga's bookkeeping publish nothing
    **{
        name: set()
        for name in (
            "add_holidays set_special_event_days remove_special_event_days create_cancellation_policy create_hotel create_rate_plan create_room create_room_type"
            " create_season open_inventory refresh_rates set_length_of_stay_discount set_pricing_rule"
            " set_restrictions set_room_active set_room_type_price post_charge authorise_payment capture_payment"
            " void_payment refund_payment record_payment_failure authenticate issue_api_key revoke_api_key"
            " begin_idempotent complete_idempotent purge_idempotency_keys checkout_hold checkout_authorised"
            " checkout_confirm checkout_captured checkout_compensate claim_stalled_checkouts refresh_reports"
            " submit_review subscribe_events read_events ack_events add_webhook disable_webhook enable_webhook"
            " rotate_webhook_secret reseal_webhook_secrets replay_webhook fanout_webhook_events claim_webhook_deliveries"
            " record_webhook_attempt purge_events"
        ).split()
    },
}

# Calls the fixture cannot make valid (the saga's later steps need the gateway's answers, tested
# in tests/http; a request context; a delivery a dispatcher leased): refused before any write.
REFUSED_HERE = {
    "checkout_authorised",
    "checkout_confirm",
    "checkout_confirm_authorised",
    "checkout_captured",
    "begin_idempotent",
    "checkout_start",  # its idempotency record needs a request context
}
# The external-PMS functions act on an imported property only (the fixture's hotel keeps its own
# ledger, so they refuse it before any write); tests/external_pms calls them against the simulated vendor,
# and tests/external_pms/test_pms_mirror.py checks the event they publish (pms_sync.stopped).
EXTERNAL_PMS_PREFIX = "pms_"


def _setup(db: psycopg.Connection, fixture: dict) -> dict[str, dict[str, str]]:
    """Arguments, per function, beyond the sweep's valid call: the change that makes it publish."""
    one = lambda q, *a: db.execute(q, a).fetchone()[0]  # noqa: E731
    hotel = fixture["p_hotel_id"]
    in_house = fixture["in_house"]
    # the in-house stay's balance paid, so it may check out
    # (check-out posts the night slept, so the payment covers it)
    balance = one(
        "select b.balance + (select sum(l.nightly[1]) from core.reservation_rooms l where l.reservation_id = %s)"
        " from api.folio_balances b where b.reservation_id = %s",
        int(in_house),
        int(in_house),
    )
    if balance > 0:
        one(
            "select api.authorise_payment(p_reservation_id => %s, p_method => 'cash', p_amount => %s,"
            " p_capture => true)",
            int(in_house),
            balance,
        )
    # the departed guest joins, so the stay earns points
    db.execute(
        "update core.customers set is_member = true, member_since = current_date"
        " where id = (select customer_id from core.reservations where id = %s)",
        (int(fixture["departed"]),),
    )
    wait_readable(db)
    webhook = one(
        "select webhook_id from api.add_webhook('http://127.0.0.1:9/hook', array['reservation.*'], %s)",
        new_secret()[1],
    )
    event = one("select event_id from core.events where type = 'reservation.created' order by id limit 1")
    one("select api.replay_webhook(%s, %s)", webhook, event)
    db.execute("select * from api.claim_webhook_deliveries('test')")
    return {
        "modify_reservation": {"p_special_requests": "late arrival"},
        "earn_due_stay_points": {},
        "disable_webhook": {"p_webhook_id": str(webhook)},
        "enable_webhook": {"p_webhook_id": str(webhook)},
        "rotate_webhook_secret": {"p_webhook_id": str(webhook)},
        "reseal_webhook_secrets": {"p_webhook_id": str(webhook)},
        "replay_webhook": {"p_webhook_id": str(webhook), "p_event_id": event},
        "add_webhook": {"p_url": "http://127.0.0.1:9/other", "p_event_types": "{customer.*}"},
        "subscribe_events": {"p_consumer": "pms-audit", "p_system": "pms"},
        "read_events": {"p_consumer": "hotel-pms"},
        "ack_events": {"p_consumer": "hotel-pms", "p_up_to": event},
        "record_webhook_attempt": {
            "p_delivery_id": str(one("select min(id) from core.webhook_deliveries")),
            "p_dispatcher": "test",
            "p_started_at": str(one("select clock_timestamp()")),
            "p_latency_ms": "1",
            "p_status_code": "200",
        },
        "set_room_status": {"p_hotel_id": hotel},
        "update_room": {
            "p_hotel_id": hotel,
            "p_expected_version": str(
                one("select version from core.rooms where id = %s", int(fixture["p_room_id"]))
            ),
            "p_changes": '{"status": "dirty"}',
        },
    }


def _types_written(db: psycopg.Connection, sql, args) -> set[str]:
    with db.transaction(force_rollback=True):
        before = db.execute("select coalesce(max(id), 0) from core.events").fetchone()[0]
        db.execute(sql, args)
        # the reservation events are written at commit (deferred triggers): fire them now
        db.execute("set constraints all immediate")
        # an event's hotel is the hotel of the row it reports, which exists (the log has no
        # foreign key of its own: the reported row's proves it)
        orphans = db.execute(
            "select e.type, e.hotel_id from core.events e where e.id > %s and e.hotel_id is not null"
            " and not exists (select 1 from core.hotels h where h.id = e.hotel_id)",
            (before,),
        ).fetchall()
        assert not orphans, orphans
        return {r[0] for r in db.execute("select type from core.events where id > %s", (before,))}


def test_every_state_changing_api_function_publishes_its_event_types(db: psycopg.Connection) -> None:
    fixture = build_fixture(db)
    extra = _setup(db, fixture)
    types_in_registry = {r[0] for r in db.execute("select name from core.event_types")}
    events_before = db.execute("select count(*) from core.events").fetchone()[0]
    db.execute("select set_config('statement_timeout', %s, false)", (STATEMENT_TIMEOUT,))
    volatile = {
        r[0]
        for r in db.execute(
            "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'api' and p.provolatile = 'v'"
        )
    }
    wrong, refused, checked = [], [], 0
    for function in api_functions(db):
        if function.name not in volatile:
            continue
        names = {a.name for a in function.arguments}
        args = baseline(fixture, function) | {
            k: v for k, v in extra.get(function.name, {}).items() if k in names
        }
        try:
            got = _types_written(db, call_sql(function, args), args)
        except psycopg.Error as exc:
            if function.name not in REFUSED_HERE and not function.name.startswith(EXTERNAL_PMS_PREFIX):
                refused.append(
                    f"{function.name}: {exc.sqlstate} {exc.diag.message_primary} {exc.diag.message_detail}"
                )
            continue
        checked += 1
        assert got <= types_in_registry
        if function.name not in EXPECTED:
            # guest services (service.*, feedback.*) map their own functions
            if any(not t.startswith(("service.", "feedback.")) for t in got):
                wrong.append(f"{function.name}: not in EXPECTED, wrote {sorted(got)}")
            continue
        if got != EXPECTED[function.name]:
            wrong.append(f"{function.name}: wrote {sorted(got)}, expected {sorted(EXPECTED[function.name])}")
    assert not refused, "valid calls refused:\n" + "\n".join(refused)
    assert not wrong, "\n".join(wrong)
    assert checked >= 60
    # every call was rolled back: not one event of theirs is left
    assert db.execute("select count(*) from core.events").fetchone()[0] == events_before


def test_every_registered_type_but_guest_services_has_a_function_that_publishes_it() -> None:
    published = set().union(*EXPECTED.values())
    seed_000 = {
        "customer.created", "customer.updated", "customer.rank_changed", "customer.points_changed",
        "reservation.created", "reservation.updated", "reservation.confirmed", "reservation.cancelled",
        "checkin_checkout.checked_in", "checkin_checkout.checked_out", "checkin_checkout.no_show",
        "room.status_changed", "room.maintenance_updated",
    }  # fmt: skip
    assert seed_000 <= published


@pytest.mark.parametrize(
    "changes, fields",
    [
        ({"phone": "+81312345678"}, ["phone_e164"]),
        ({"city": "Kyoto", "preferences": {"pillow": "soft"}}, ["city", "preferences"]),
    ],
)
def test_customer_updated_names_the_fields_that_changed(db: psycopg.Connection, changes, fields) -> None:
    customer = db.execute(
        "select (api.create_customer('Hana', 'Sato', 'hana@example.com'))->>'id'"
    ).fetchone()[0]
    db.execute(
        "select api.update_customer(%s, 1, %s::jsonb)", (int(customer), psycopg.types.json.Jsonb(changes))
    )
    payload = db.execute(
        "select payload from core.events where type = 'customer.updated' and aggregate_id = %s", (customer,)
    ).fetchone()[0]
    assert payload["changed_fields"] == fields
    assert set(payload["changes"]) == set(fields)
