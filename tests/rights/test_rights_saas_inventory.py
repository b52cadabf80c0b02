"""hotel-saas reads sales but never room inventory (seed 000: 部屋在庫・状態 — hotel-saas 参照不可).
The revenue reports carry rooms available and sold, occupancy, ADR and RevPAR, and the booking pace
carries rooms on the books: a saas login reading them is refused, and reads the same revenue through
the report.sales_* views, which have no room count. The catalog side (no relation saas can read has
such a column) is tests/test_catalog.py::test_hotel_saas_reads_no_room_inventory_column."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.rights import World

ROOM_COUNT_READS = [
    "select day, rooms_available, rooms_sold, occupancy from report.revenue_daily_in_scope",
    "select hotel_id, rooms_sold from report.revenue_daily_by_origin_in_scope",
    "select month, room_nights_available, room_nights_sold, occupancy, revpar from report.revenue_monthly",
    "select month, room_nights_sold, adr from report.revenue_by_origin_monthly",
    "select stay_date, rooms_on_books from report.booking_pace_in_scope",
]


@pytest.mark.parametrize("query", ROOM_COUNT_READS)
def test_saas_cannot_read_room_counts_from_reports(query: str, world: World, connect_as) -> None:
    saas = connect_as("saas")
    with pytest.raises(psycopg.Error) as excinfo:
        saas.execute(query).fetchall()
    assert excinfo.value.sqlstate == "42501", excinfo.value
    saas.rollback()


def test_saas_reads_the_same_revenue_without_room_counts(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    db.execute("select * from api.refresh_reports()").fetchall()
    saas, pms = connect_as("saas"), connect_as("pms")
    money = "hotel_id, month, currency, room_revenue, service_revenue, fee_revenue, taxes, total_revenue"
    sales = saas.execute(f"select {money} from report.sales_monthly order by 1, 2").fetchall()
    revenue = pms.execute(f"select {money} from report.revenue_monthly order by 1, 2").fetchall()
    assert sales == revenue and {r[0] for r in sales} == {world.a.id, world.b.id}
    assert any(r[-1] > 0 for r in sales)
    daily = saas.execute("select sum(total_revenue) from report.sales_daily_in_scope").fetchone()[0]
    assert daily == pms.execute("select sum(total_revenue) from report.revenue_daily_in_scope").fetchone()[0]
    columns = {
        r[0]
        for r in saas.execute(
            "select column_name from information_schema.columns where table_schema = 'report'"
            " and table_name like 'sales%'"
        ).fetchall()
    }
    assert "total_revenue" in columns and not columns & {"rooms_sold", "rooms_available", "occupancy", "adr"}


def test_a_scoped_saas_login_reads_the_sales_of_its_hotels_only(
    db: psycopg.Connection, world: World, logins, connect_as
) -> None:
    db.execute("select * from api.refresh_reports()").fetchall()
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["saas"], world.b.id)
    )
    saas = connect_as("saas")
    for view in (
        "sales_daily_in_scope",
        "sales_daily_by_origin_in_scope",
        "sales_monthly",
        "sales_by_origin_monthly",
    ):
        seen = {r[0] for r in saas.execute(f"select distinct hotel_id from report.{view}").fetchall()}
        assert seen == {world.b.id}, view
