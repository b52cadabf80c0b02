"""Seed 000's responsibility matrix (システム責任マトリックス), cell by cell: each row is one system
acting on one kind of data, run as that system's login over a real connection, and whether the
database lets it. Every cell runs in a transaction that is rolled back, so the rows are independent.

Allowed means the call succeeds (and, for a read of a field, the field is there). Denied means
PERMISSION_DENIED from the function's own check, or insufficient_privilege (42501) when the system holds no EXECUTE
(or SELECT) on the object at all — both are the database refusing, and the HTTP layer answers 403
for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.errors import DENIED, raises_code, sqlstate
from tests.support.rights import World
from tests.support.sql import call, scalar


def version(conn: psycopg.Connection, customer: int) -> int:
    return scalar(conn, "get_customer", p_customer_id=customer)["version"]


def res_version(conn: psycopg.Connection, reservation: int) -> int:
    return scalar(conn, "get_reservation", p_reservation_id=reservation)["version"]


def book(origin: str) -> Callable[[psycopg.Connection, World], object]:
    def run(conn: psycopg.Connection, w: World) -> object:
        return scalar(
            conn,
            "book_reservation",
            p_hotel_id=w.a.id,
            p_room_type_id=w.a.room_type,
            p_rate_plan_id=w.a.rate_plan,
            p_check_in=w.a.day(7),
            p_check_out=w.a.day(8),
            p_customer_id=w.customer,
            p_origin=origin,
        )

    return run


def update_customer(changes: dict) -> Callable[[psycopg.Connection, World], object]:
    def run(conn: psycopg.Connection, w: World) -> object:
        return scalar(
            conn,
            "update_customer",
            p_customer_id=w.customer,
            p_expected_version=version(conn, w.customer),
            p_changes=Jsonb(changes),
        )

    return run


def select(query: str) -> Callable[[psycopg.Connection, World], object]:
    def run(conn: psycopg.Connection, w: World) -> object:
        return conn.execute(query).fetchall()

    return run


# (data, action): the call, and the systems the matrix allows it to.
ACTIONS: dict[tuple[str, str], tuple[Callable[[psycopg.Connection, World], object], set[str]]] = {
    # 顧客基本情報: updated by member (every field) and pms (name, phone, address); read by all
    ("customer", "read"): (
        lambda c, w: scalar(c, "get_customer", p_customer_id=w.customer),
        {"member", "pms", "saas"},
    ),
    ("customer", "create"): (
        lambda c, w: scalar(c, "create_customer", p_given_name="Jun", p_family_name="Ito"),
        {"member"},
    ),
    ("customer", "update address"): (
        update_customer({"city": "Osaka", "address_line1": "1-2-3"}),
        {"member", "pms"},
    ),
    ("customer", "update name"): (update_customer({"family_name": "Kato"}), {"member", "pms"}),
    ("customer", "update phone (basic api)"): (
        lambda c, w: scalar(
            c,
            "update_customer_basic",
            p_customer_id=w.customer,
            p_expected_version=version(c, w.customer),
            p_changes=Jsonb({"phone": "+81312345678"}),
        ),
        {"member", "pms"},
    ),
    ("customer", "update email"): (update_customer({"email": "hana.sato@example.com"}), {"member"}),
    ("customer", "update membership"): (update_customer({"is_member": False}), {"member"}),
    ("customer", "merge"): (
        lambda c, w: scalar(
            c,
            "merge_customers",
            p_keep_id=w.customer,
            p_duplicate_id=scalar(c, "find_or_create_guest", p_given_name="Dup", p_family_name="Licate"),
        ),
        {"member"},
    ),
    # 会員ランク・ポイント: updated by member only; read by all
    ("loyalty", "read points"): (
        lambda c, w: call(c, "get_points_balance", p_customer_id=w.customer),
        {"member", "pms", "saas"},
    ),
    ("loyalty", "read rank"): (
        lambda c, w: scalar(c, "get_customer_rank", p_customer_id=w.customer),
        {"member", "pms", "saas"},
    ),
    ("loyalty", "adjust points"): (
        lambda c, w: call(c, "adjust_points", p_customer_id=w.customer, p_points=100, p_reason="goodwill"),
        {"member"},
    ),
    ("loyalty", "set rank"): (
        lambda c, w: scalar(
            c, "set_customer_rank", p_customer_id=w.customer, p_rank_code="gold", p_reason="vip"
        ),
        {"member"},
    ),
    # 配信設定・嗜好: updated by member; read by member and saas (personal data)
    ("preferences", "read"): (
        lambda c, w: (
            "preferences" in scalar(c, "get_customer", p_customer_id=w.customer)
            and "marketing_consent" in scalar(c, "get_customer", p_customer_id=w.customer)
        ),
        {"member", "saas"},
    ),
    ("preferences", "update"): (update_customer({"preferences": {"pillow": "feather"}}), {"member"}),
    ("preferences", "update consent"): (update_customer({"marketing_consent": False}), {"member"}),
    # 予約情報: pms updates, member creates (origin member); read by all
    ("reservation", "read"): (
        lambda c, w: scalar(c, "get_reservation", p_reservation_id=w.future[w.a.id]),
        {"member", "pms", "saas"},
    ),
    ("reservation", "list"): (
        lambda c, w: scalar(c, "list_reservations", p_hotel_id=w.a.id),
        {"member", "pms", "saas"},
    ),
    ("reservation", "create origin member"): (book("member"), {"member", "pms"}),
    ("reservation", "create origin pms"): (book("pms"), {"pms"}),
    ("reservation", "modify"): (
        lambda c, w: call(
            c,
            "modify_reservation",
            p_reservation_id=w.future[w.a.id],
            p_version=res_version(c, w.future[w.a.id]),
            p_special_requests="late arrival",
        ),
        {"pms"},
    ),
    ("reservation", "cancel"): (
        lambda c, w: call(
            c, "cancel_reservation", p_reservation_id=w.future[w.a.id], p_reason="changed plans"
        ),
        {"pms"},
    ),
    # チェックイン/アウト: pms only; read by all (the reservation's status)
    ("stay", "check in"): (lambda c, w: call(c, "check_in", p_reservation_id=w.arriving[w.a.id]), {"pms"}),
    ("stay", "read status"): (
        lambda c, w: (
            scalar(c, "get_reservation", p_reservation_id=w.in_house[w.a.id])["status"] == "checked_in"
        ),
        {"member", "pms", "saas"},
    ),
    # 部屋在庫・状態: pms updates; member and pms read; saas may not read
    ("rooms", "read rooms"): (lambda c, w: scalar(c, "list_rooms", p_hotel_id=w.a.id), {"member", "pms"}),
    ("rooms", "search availability"): (
        lambda c, w: call(
            c, "search_availability", p_hotel_id=w.a.id, p_check_in=w.a.day(7), p_check_out=w.a.day(8)
        ),
        {"member", "pms"},
    ),
    ("rooms", "read inventory"): (select("select * from api.inventory_calendar"), {"member", "pms"}),
    ("rooms", "read occupancy report"): (select("select * from report.occupancy_daily"), {"member", "pms"}),
    ("rooms", "set status"): (
        lambda c, w: call(
            c, "set_room_status", p_hotel_id=w.a.id, p_room_id=w.a.room_ids[2], p_status="dirty"
        ),
        {"pms"},
    ),
    ("rooms", "open inventory"): (
        lambda c, w: call(c, "open_inventory", p_hotel_id=w.a.id, p_from=w.a.day(30), p_until=w.a.day(31)),
        {"pms"},
    ),
    # 注文・コンシェルジュ: saas updates; saas and pms read — the schema holds no orders yet; the
    # guest feedback of seed 000's hotel-saas is its nearest data (reviews: saas and member post)
    ("feedback", "submit review"): (
        lambda c, w: scalar(c, "submit_review", p_reservation_id=w.departed[w.a.id], p_overall_rating=5),
        {"saas", "member"},
    ),
    ("feedback", "read reviews"): (
        select("select * from report.review_averages_by_hotel"),
        {"member", "pms", "saas"},
    ),
    # 注文・コンシェルジュ (guest services): saas updates orders, requests, the catalog and facility
    # bookings; saas and pms read orders (billing); member reads none of it
    ("orders", "create"): (
        lambda c, w: scalar(
            c,
            "create_order",
            p_reservation_id=w.in_house[w.a.id],
            p_client_key="matrix",
            p_items=Jsonb([{"service_item_id": w.item[w.a.id], "quantity": 2}]),
        ),
        {"saas"},
    ),
    ("orders", "change status"): (
        lambda c, w: scalar(c, "set_order_status", p_order_id=w.order[w.a.id], p_status="accepted"),
        {"saas"},
    ),
    ("orders", "read one"): (
        lambda c, w: scalar(c, "get_order", p_order_id=w.order[w.a.id]),
        {"saas", "pms"},
    ),
    ("orders", "read a customer's"): (
        lambda c, w: len(scalar(c, "list_customer_orders", p_customer_id=w.customer)) == 2,
        {"saas", "pms"},
    ),
    ("orders", "read catalog"): (
        lambda c, w: len(scalar(c, "list_service_items", p_hotel_id=w.a.id)) == 1,
        {"saas", "pms"},
    ),
    ("orders", "create catalog item"): (
        lambda c, w: scalar(
            c,
            "create_service_item",
            p_hotel_id=w.a.id,
            p_category="minibar",
            p_code="beer",
            p_name="Beer",
            p_price=700,
        ),
        {"saas"},
    ),
    ("orders", "restock"): (
        lambda c, w: scalar(
            c, "update_service_item", p_hotel_id=w.a.id, p_service_item_id=w.item[w.a.id], p_price=600
        ),
        {"saas"},
    ),
    ("orders", "read service revenue report"): (
        select("select * from report.service_revenue_daily"),
        {"pms", "saas"},
    ),
    ("orders", "read lead time report"): (
        select("select * from report.service_order_lead_times"),
        {"pms", "saas"},
    ),
    ("concierge", "create request"): (
        lambda c, w: scalar(
            c, "create_concierge_request", p_reservation_id=w.in_house[w.a.id], p_request_type="luggage"
        ),
        {"saas"},
    ),
    ("concierge", "work request"): (
        lambda c, w: scalar(
            c,
            "update_concierge_request",
            p_request_id=w.request[w.a.id],
            p_status="in_progress",
            p_handled_by="ren",
        ),
        {"saas"},
    ),
    ("facility", "create"): (
        lambda c, w: scalar(
            c,
            "create_facility",
            p_hotel_id=w.a.id,
            p_code="gym",
            p_name="Gym",
            p_kind="fitness",
            p_capacity=5,
        ),
        {"saas"},
    ),
    ("facility", "book"): (
        lambda c, w: scalar(
            c,
            "book_facility",
            p_facility_id=w.facility[w.a.id],
            p_reservation_id=w.in_house[w.a.id],
            p_starts_at=dt.datetime.combine(
                w.a.day(1), dt.time(14, 0), tzinfo=dt.timezone(dt.timedelta(hours=9))
            ),
            p_ends_at=dt.datetime.combine(
                w.a.day(1), dt.time(15, 0), tzinfo=dt.timezone(dt.timedelta(hours=9))
            ),
        ),
        {"saas"},
    ),
    ("facility", "cancel booking"): (
        lambda c, w: scalar(c, "cancel_facility_booking", p_booking_id=w.booking[w.a.id]),
        {"saas"},
    ),
    ("feedback", "submit stay feedback"): (
        lambda c, w: scalar(
            c, "submit_feedback", p_reservation_id=w.in_house[w.a.id], p_scores=Jsonb({"overall": 4})
        ),
        {"saas", "member"},
    ),
    ("feedback", "read a customer's summary"): (
        lambda c, w: scalar(c, "feedback_summary", p_customer_id=w.customer)["review_count"] == 0,
        {"saas", "pms"},
    ),
    ("feedback", "read satisfaction report"): (
        select("select * from report.satisfaction_trend"),
        {"pms", "saas"},
    ),
    # 売上・請求: pms updates; pms and saas read
    ("billing", "post charge"): (
        lambda c, w: call(
            c,
            "post_charge",
            p_reservation_id=w.in_house[w.a.id],
            p_kind="service",
            p_amount=1500,
            p_description="minibar",
        ),
        {"pms"},
    ),
    ("billing", "capture payment"): (
        lambda c, w: call(c, "capture_payment", p_payment_id=w.payment[w.a.id], p_amount=1000),
        {"pms"},
    ),
    ("billing", "read folios"): (select("select * from api.folio_balances"), {"pms", "saas"}),
    # revenue with room counts (occupancy, ADR, RevPAR) needs both 売上・請求 and 部屋在庫・状態 read
    ("billing", "read revenue report"): (select("select * from report.revenue_monthly"), {"pms"}),
    ("billing", "read sales report"): (select("select * from report.sales_monthly"), {"pms", "saas"}),
    # 競合解決: the system owning the entity detects and resolves its conflicts (customers:
    # hotel-member, the master's owner; reservations: hotel-pms)
    ("conflicts", "detect customer"): (
        lambda c, w: scalar(
            c,
            "detect_conflicts",
            p_entity_type="customer",
            p_entity_id=w.customer,
            p_updates=Jsonb(
                [{"system": "hotel-pms", "timestamp": "2024-12-01T10:00:00Z", "fields": {"city": "Nagoya"}}]
            ),
        ),
        {"member"},
    ),
    ("conflicts", "resolve customer conflict"): (
        lambda c, w: scalar(
            c,
            "resolve_conflict",
            p_conflict_id=w.conflict,
            p_resolution_method="manual",
            p_resolved_data=Jsonb({"phone": "+81 80 9876 5432", "resolution_reason": "confirmed by phone"}),
            p_resolver_user_id="admin-user-123",
        ),
        {"member"},
    ),
    ("conflicts", "detect room claim"): (
        lambda c, w: scalar(
            c,
            "detect_conflicts",
            p_entity_type="reservation",
            p_entity_id=w.future[w.a.id],
            p_updates=Jsonb(
                [
                    {
                        "system": "hotel-pms",
                        "timestamp": "2024-12-01T10:00:00Z",
                        "fields": {"room_id": w.a.room_ids[3]},
                    }
                ]
            ),
        ),
        {"pms"},
    ),
    ("conflicts", "resolve room conflict"): (
        lambda c, w: scalar(
            c,
            "resolve_conflict",
            p_conflict_id=w.room_conflict[w.a.id],
            p_resolution_method="auto_merge",
            p_resolved_data=Jsonb({}),
            p_resolver_user_id="frontdesk-7",
        ),
        {"pms"},
    ),
    ("conflicts", "read open conflicts"): (select("select * from report.conflicts_open"), {"member", "pms"}),
    # 部屋状態: hotel-pms writes a room with the version it read, and settles its room conflicts
    ("rooms", "update room with its version"): (
        lambda c, w: scalar(
            c,
            "update_room",
            p_hotel_id=w.a.id,
            p_room_id=w.a.room_ids[4],
            p_expected_version=1,
            p_changes=Jsonb({"status": "dirty", "housekeeping_notes": "towels"}),
        ),
        {"pms"},
    ),
    ("conflicts", "detect room writes"): (
        lambda c, w: scalar(
            c,
            "detect_conflicts",
            p_entity_type="room",
            p_entity_id=w.a.room_ids[4],
            p_updates=Jsonb(
                [{"system": "hotel-pms", "timestamp": "2024-12-01T10:00:00Z", "fields": {"status": "dirty"}}]
            ),
        ),
        {"pms"},
    ),
    # 特別イベント日: the hotel's calendar of special event days (escalation of its conflicts)
    ("conflicts", "set special event days"): (
        lambda c, w: scalar(
            c, "set_special_event_days", p_hotel_id=w.a.id, p_days=[w.a.day(20)], p_names=["Snow Festival"]
        ),
        {"pms"},
    ),
    ("conflicts", "remove special event days"): (
        lambda c, w: scalar(c, "remove_special_event_days", p_hotel_id=w.a.id, p_days=[w.a.day(20)]),
        {"pms"},
    ),
    ("conflicts", "list special event days"): (
        lambda c, w: scalar(
            c, "list_special_event_days", p_hotel_id=w.a.id, p_from=w.a.day(0), p_until=w.a.day(30)
        ),
        {"member", "pms"},
    ),
    # administration: no client system
    ("admin", "issue api key"): (
        lambda c, w: call(c, "issue_api_key", p_system="pms", p_hotel_ids=[w.a.id]),
        set(),
    ),
    ("admin", "create hotel"): (
        lambda c, w: scalar(
            c, "create_hotel", p_code="C", p_name="C", p_time_zone="Asia/Tokyo", p_currency="JPY"
        ),
        set(),
    ),
    # core tables: nobody reads them directly
    ("core", "select customers"): (select("select * from core.customers"), set()),
    ("core", "select reservations"): (select("select * from core.reservations"), set()),
}

# the BI role reads report.* and nothing else
BI_ROWS: dict[tuple[str, str], tuple[Callable[[psycopg.Connection, World], object], bool]] = {
    ("report", "occupancy"): (select("select * from report.occupancy_daily"), True),
    ("report", "revenue"): (select("select * from report.revenue_monthly"), True),
    ("report", "daily revenue in scope"): (select("select * from report.revenue_daily_in_scope"), True),
    ("report", "members per rank"): (select("select * from report.members_per_rank"), True),
    ("report", "consistency monitor"): (select("select * from report.consistency_monitor"), True),
    ("api", "detect conflicts"): ACTIONS["conflicts", "detect customer"][0:1] + (False,),
    ("report", "materialized view itself"): (select("select * from report.revenue_daily"), False),
    ("api", "get customer"): ACTIONS["customer", "read"][0:1] + (False,),
    ("api", "read reservation"): ACTIONS["reservation", "read"][0:1] + (False,),
    ("core", "select customers"): (select("select * from core.customers"), False),
}


@dataclass(frozen=True)
class Cell:
    system: str
    data: str
    action: str
    run: Callable[[psycopg.Connection, World], object]
    allowed: bool

    def __str__(self) -> str:
        return f"{self.system}:{self.data}.{self.action}:{'allow' if self.allowed else 'deny'}"


CELLS = [
    Cell(system, data, action, run, system in systems)
    for (data, action), (run, systems) in ACTIONS.items()
    for system in ("member", "pms", "saas")
] + [Cell("bi", data, action, run, allowed) for (data, action), (run, allowed) in BI_ROWS.items()]


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_matrix_cell(cell: Cell, shared_world: World, shared_connect_as) -> None:
    conn = shared_connect_as(cell.system)
    try:
        if cell.allowed:
            result = cell.run(conn, shared_world)
            assert result is not False, f"{cell}: the call answered without the data"
        else:
            try:
                result = cell.run(conn, shared_world)
            except psycopg.Error as exc:
                assert exc.sqlstate in DENIED, (
                    f"{cell}: refused with {exc.sqlstate}, not PERMISSION_DENIED: {exc}"
                )
                if exc.sqlstate == sqlstate("PERMISSION_DENIED"):
                    assert exc.diag.message_detail, "PERMISSION_DENIED names the action or field in DETAIL"
            else:
                assert result is False, f"{cell}: allowed, the matrix denies it"
    finally:
        conn.rollback()


def test_pms_learns_which_field_it_may_not_change(shared_world: World, shared_connect_as) -> None:
    conn = shared_connect_as("pms")
    try:
        with raises_code("PERMISSION_DENIED") as excinfo:
            update_customer({"city": "Kyoto", "email": "x@example.com"})(conn, shared_world)
        assert "email" in excinfo.value.diag.message_detail
    finally:
        conn.rollback()


def test_pms_reads_the_customer_without_preferences(shared_world: World, shared_connect_as) -> None:
    pms, saas = shared_connect_as("pms"), shared_connect_as("saas")
    try:
        seen_by_pms = scalar(pms, "get_customer", p_customer_id=shared_world.customer)
        seen_by_saas = scalar(saas, "get_customer", p_customer_id=shared_world.customer)
        assert "preferences" not in seen_by_pms and "marketing_consent" not in seen_by_pms
        assert seen_by_pms["family_name"] == "Sato" and seen_by_pms["phone_e164"] is None
        assert seen_by_saas["preferences"] == {"pillow": "buckwheat"}
    finally:
        pms.rollback()
        saas.rollback()


def test_every_view_granted_to_a_role_is_readable_by_it(
    shared_world: World, shared_db: str, shared_connect_as
) -> None:
    """A view granted to a system works for it (functions it calls, row-level security as its owner)."""
    with psycopg.connect(shared_db, autocommit=True) as owner:
        grants = owner.execute(
            """
            select distinct g.grantee, g.table_schema || '.' || g.table_name
            from information_schema.role_table_grants g
            where g.table_schema in ('api', 'report') and g.privilege_type = 'SELECT'
              and g.grantee in ('hotelcore_member', 'hotelcore_pms', 'hotelcore_saas', 'hotelcore_bi')
            order by 1, 2"""
        ).fetchall()
    assert len(grants) > 20
    for grantee, view in grants:
        conn = shared_connect_as(grantee.removeprefix("hotelcore_"))
        try:
            conn.execute(f"select count(*) from {view}").fetchone()
        finally:
            conn.rollback()


def test_the_audit_log_names_role_and_application_user(
    world: World, db: psycopg.Connection, connect_as
) -> None:
    pms = connect_as("pms")
    pms.execute("select set_config('hotelcore.app_user', 'frontdesk:yuki', true)")
    call(pms, "set_room_status", p_hotel_id=world.a.id, p_room_id=world.a.room_ids[3], p_status="dirty")
    pms.commit()
    row = db.execute(
        "select db_role, app_user, hotel_id, changed from core.audit_log"
        " where entity = 'room' and entity_id = %s and action = 'update' order by id desc limit 1",
        (world.a.room_ids[3],),
    ).fetchone()
    login = pms.info.user
    # the application user as given, prefixed by who vouched for it: outside a request, the login
    assert row == (login, f"login-{login}:frontdesk:yuki", world.a.id, ["status", "status_changed_at"])
    created = db.execute(
        "select count(*) from core.audit_log where entity = 'reservation' and action = 'insert'"
    ).fetchone()[0]
    assert created == 10  # five reservations in each hotel (one claims a blocked room)


def test_a_clients_own_function_borrows_no_right(shared_world: World, shared_connect_as) -> None:
    """A member's pg_temp function around an api call is checked like the call itself."""
    conn = shared_connect_as("member")
    try:
        conn.execute(
            "create function pg_temp.book_as_pms(p_hotel bigint, p_type bigint, p_plan bigint, p_day date,"
            " p_customer bigint) returns jsonb language plpgsql as $$ begin"
            " return api.book_reservation(p_hotel, p_type, p_plan, p_day, p_day + 1, p_customer, p_origin => 'pms');"
            " end $$"
        )
        with raises_code("PERMISSION_DENIED"):
            conn.execute(
                "select pg_temp.book_as_pms(%s, %s, %s, %s, %s)",
                (
                    shared_world.a.id,
                    shared_world.a.room_type,
                    shared_world.a.rate_plan,
                    shared_world.a.day(9),
                    shared_world.customer,
                ),
            )
    finally:
        conn.rollback()


def test_saas_reads_orders_but_never_room_status_or_inventory(shared_world: World, shared_connect_as) -> None:
    """An order shows where to deliver (the room number), never the room's housekeeping status; the
    rooms, their status log and the calendar stay closed to hotel-saas however it asks."""
    saas = shared_connect_as("saas")
    try:
        order = scalar(saas, "get_order", p_order_id=shared_world.order[shared_world.a.id])
        assert order["room_number"] and "room_status" not in order and "status_changed_at" not in order
        assert set(order["lines"][0]) >= {"quantity", "unit_price", "amount"}
        for query in (
            "select status from core.rooms",
            "select * from core.room_status_log",
            "select * from api.inventory_calendar",
            "select * from report.occupancy_daily",
        ):
            with pytest.raises(psycopg.Error) as excinfo:
                saas.execute(query).fetchall()
            assert excinfo.value.sqlstate in DENIED, query
            saas.rollback()
        with pytest.raises(psycopg.Error) as excinfo:
            call(saas, "list_rooms", p_hotel_id=shared_world.a.id)
        assert excinfo.value.sqlstate in DENIED
    finally:
        saas.rollback()
