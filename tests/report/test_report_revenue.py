"""report.revenue_daily, revenue_daily_by_origin, revenue_monthly, revenue_by_origin_monthly
against the fixture (see conftest), by hand. JPY has no minor unit."""

from decimal import ROUND_HALF_UP, Decimal

from tests.support.report import d
from tests.support.sql import rows

# A STD night: 11 000 tax included = 10 000 room + 1 000 tax; a DLX night 20 000 + 2 000.
STD_ROOM, STD_TAX, DLX_ROOM, DLX_TAX = 10000, 1000, 20000, 2000
SERVICE_B, NO_SHOW_FEE_E, CANCEL_FEE_D = 5000, 11000, 22000


def yen(x) -> Decimal:
    return Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def by_day(fx) -> dict:
    return {
        r["day"]: r
        for r in rows(fx.db, "select * from report.revenue_daily where hotel_id = %s", (fx.hotel_id,))
    }


def check(row, **expected):
    assert {k: row[k] for k in expected} == expected


def test_daily_posted_revenue_fees_and_services(fx):
    got = by_day(fx)
    assert len(got) == 41 and all(r["currency"] == "JPY" for r in got.values())
    # 03-28: B's first night posted by the audit, B's dinner posted that day (no business date yet)
    check(
        got[d("2030-03-28")],
        rooms_available=3 + 2,
        rooms_sold=1,
        occupancy=Decimal("0.2000"),
        room_revenue=DLX_ROOM,
        room_revenue_unposted=0,
        service_revenue=SERVICE_B,
        fee_revenue=0,
        taxes=DLX_TAX,
        total_revenue=DLX_ROOM + SERVICE_B + DLX_TAX,
        adr=DLX_ROOM,
        revpar=yen(DLX_ROOM / 5),
    )
    # 03-29: B's second night; E's no-show fee posted by the audit of 03-29; E sold nothing
    check(
        got[d("2030-03-29")],
        rooms_sold=1,
        room_revenue=DLX_ROOM,
        fee_revenue=NO_SHOW_FEE_E,
        taxes=DLX_TAX,
        total_revenue=DLX_ROOM + NO_SHOW_FEE_E + DLX_TAX,
    )
    # 03-30: S3 out of order -> 4 available; A's first night
    check(
        got[d("2030-03-30")],
        rooms_available=4,
        rooms_sold=1,
        occupancy=Decimal("0.2500"),
        room_revenue=STD_ROOM,
        taxes=STD_TAX,
        total_revenue=STD_ROOM + STD_TAX,
        adr=STD_ROOM,
        revpar=yen(STD_ROOM / 4),
    )
    # 03-31: A's second night; D cancelled on its arrival day (business date 03-31): first night fee
    check(
        got[d("2030-03-31")],
        rooms_available=4,
        rooms_sold=1,
        room_revenue=STD_ROOM,
        fee_revenue=CANCEL_FEE_D,
        total_revenue=STD_ROOM + STD_TAX + CANCEL_FEE_D,
    )
    # 04-01: A's last night, across the month boundary; S3 is back
    check(
        got[d("2030-04-01")], rooms_available=5, rooms_sold=1, room_revenue=STD_ROOM, revpar=yen(STD_ROOM / 5)
    )
    # payments (49 000 and 33 000) are never revenue; empty days show zero and no ADR
    check(got[d("2030-03-26")], rooms_sold=0, total_revenue=0, adr=None, revpar=0)


def test_daily_future_stay_comes_from_the_ledger(fx):
    got = by_day(fx)
    for night in ("2030-04-10", "2030-04-11"):
        check(
            got[d(night)],
            rooms_sold=1,
            room_revenue=DLX_ROOM,
            room_revenue_unposted=DLX_ROOM,
            taxes=DLX_TAX,
            taxes_unposted=DLX_TAX,
            total_revenue=DLX_ROOM + DLX_TAX,
            adr=DLX_ROOM,
        )


def test_daily_by_origin(fx):
    got = {
        (r["day"], r["origin"]): r
        for r in rows(
            fx.db,
            "select * from report.revenue_daily_by_origin where hotel_id = %s and total_revenue <> 0",
            (fx.hotel_id,),
        )
    }
    assert set(got) == {
        (d("2030-03-28"), "ota"),
        (d("2030-03-29"), "ota"),
        (d("2030-03-29"), "direct"),
        (d("2030-03-30"), "direct"),
        (d("2030-03-31"), "direct"),
        (d("2030-03-31"), "pms"),
        (d("2030-04-01"), "direct"),
        (d("2030-04-10"), "member"),
        (d("2030-04-11"), "member"),
    }
    check(
        got[(d("2030-03-29"), "direct")], rooms_sold=0, fee_revenue=NO_SHOW_FEE_E, total_revenue=NO_SHOW_FEE_E
    )
    check(got[(d("2030-03-31"), "pms")], rooms_sold=0, fee_revenue=CANCEL_FEE_D)


def test_monthly(fx):
    got = {
        r["month"]: r
        for r in rows(fx.db, "select * from report.revenue_monthly where hotel_id = %s", (fx.hotel_id,))
    }
    assert set(got) == {d("2030-03-01"), d("2030-04-01"), d("2030-05-01")}
    # March: available 5 x 5 (03-25..03-29) + 4 x 2 (03-30, 03-31) = 33; sold B x2 + A x2 = 4
    room = 2 * DLX_ROOM + 2 * STD_ROOM
    taxes = 2 * DLX_TAX + 2 * STD_TAX
    fees = NO_SHOW_FEE_E + CANCEL_FEE_D
    check(
        got[d("2030-03-01")],
        currency="JPY",
        room_nights_available=5 * 5 + 4 * 2,
        room_nights_sold=4,
        occupancy=Decimal("0.1212"),
        room_revenue=room,
        service_revenue=SERVICE_B,
        fee_revenue=fees,
        taxes=taxes,
        total_revenue=room + SERVICE_B + fees + taxes,
        adr=yen(room / 4),
        revpar=yen(Decimal(room) / 33),
    )
    # April: 30 x 5 = 150 available; A's 04-01 posted + F's two nights from the ledger
    room = STD_ROOM + 2 * DLX_ROOM
    check(
        got[d("2030-04-01")],
        room_nights_available=150,
        room_nights_sold=3,
        occupancy=Decimal("0.0200"),
        room_revenue=room,
        room_revenue_unposted=2 * DLX_ROOM,
        taxes=STD_TAX + 2 * DLX_TAX,
        taxes_unposted=2 * DLX_TAX,
        total_revenue=room + STD_TAX + 2 * DLX_TAX,
        adr=yen(Decimal(room) / 3),
        revpar=yen(Decimal(room) / 150),
    )
    assert got[d("2030-04-01")]["adr"] == 16667 and got[d("2030-04-01")]["revpar"] == 333


def test_monthly_by_origin(fx):
    got = {
        (r["month"], r["origin"]): r
        for r in rows(
            fx.db, "select * from report.revenue_by_origin_monthly where hotel_id = %s", (fx.hotel_id,)
        )
    }
    # C (member, March) was cancelled free: no row
    assert set(got) == {
        (d("2030-03-01"), "direct"),
        (d("2030-03-01"), "ota"),
        (d("2030-03-01"), "pms"),
        (d("2030-04-01"), "direct"),
        (d("2030-04-01"), "member"),
    }
    check(
        got[(d("2030-03-01"), "direct")],
        room_nights_sold=2,
        room_revenue=2 * STD_ROOM,
        fee_revenue=NO_SHOW_FEE_E,
        taxes=2 * STD_TAX,
        total_revenue=2 * STD_ROOM + NO_SHOW_FEE_E + 2 * STD_TAX,
        adr=STD_ROOM,
    )
    check(
        got[(d("2030-03-01"), "ota")],
        room_nights_sold=2,
        room_revenue=2 * DLX_ROOM,
        service_revenue=SERVICE_B,
        total_revenue=2 * DLX_ROOM + SERVICE_B + 2 * DLX_TAX,
        adr=DLX_ROOM,
    )
    check(got[(d("2030-03-01"), "pms")], room_nights_sold=0, total_revenue=CANCEL_FEE_D, adr=None)
    check(
        got[(d("2030-04-01"), "member")],
        room_nights_sold=2,
        room_revenue_unposted=2 * DLX_ROOM,
        total_revenue=2 * (DLX_ROOM + DLX_TAX),
    )
    check(got[(d("2030-04-01"), "direct")], room_nights_sold=1, total_revenue=STD_ROOM + STD_TAX)


def test_revenue_agrees_with_the_occupancy_and_the_folios(fx):
    # rooms sold in the revenue views = inventory's booked counter, day by day
    assert (
        rows(
            fx.db,
            """
        select r.day from report.revenue_daily r
        join (select night, sum(rooms_sold) as sold from report.occupancy_daily where hotel_id = %(h)s group by night) o
          on o.night = r.day
        where r.hotel_id = %(h)s and r.rooms_sold <> o.sold""",
            {"h": fx.hotel_id},
        )
        == []
    )
    # everything posted and not a payment = posted part of the revenue
    posted = 2 * (DLX_ROOM + DLX_TAX) + SERVICE_B + 3 * (STD_ROOM + STD_TAX) + NO_SHOW_FEE_E + CANCEL_FEE_D
    assert (
        rows(
            fx.db,
            "select sum(total_revenue - room_revenue_unposted - taxes_unposted) as s from report.revenue_daily "
            "where hotel_id = %s",
            (fx.hotel_id,),
        )[0]["s"]
        == posted
    )
