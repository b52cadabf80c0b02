"""Property: both searches give exactly the offers and prices of a straightforward reference
computation over the calendar rows, whatever the calendar.

Hypothesis draws a calendar for three hotels of a city (a weekend price rule, length-of-stay
discounts, restrictions, stop-sell, bookings) and a search (dates across month ends, rooms,
guests, a member or not); the reference reads core.inventory, the room types, rate plans, hotels,
currencies, discounts and ranks, and prices every bookable room type and rate plan night by night
in Python: round(rack rate * multiplier + supplement) per night, summed, then the length-of-stay
discount, the member discount on the rest, tax added or extracted, each rounded to the currency
(half away from zero). api.search_availability must list exactly those offers, cheapest first, and
api.search_city_availability must give per hotel their number and the cheapest, so that a faster
search cannot silently change an offer or a price."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.errors import error_name
from tests.support.sql import call, scalar

pytestmark = pytest.mark.slow

CITY = "Reference City"
# what a drawn booking may meet on a drawn calendar
REFUSALS = {"INVENTORY_UNAVAILABLE", "RESTRICTION_VIOLATED", "INVALID_DATES"}


@pytest.fixture
def chain(make_hotel):
    """Three hotels of one city, built once for all examples (each example rolls its calendar back)."""
    return [
        make_hotel(city=CITY, rooms=3, days=70),
        make_hotel(
            city=CITY, rooms=2, days=70, currency="USD", base_prices=(99.99, 150.05), prices_include_tax=False
        ),
        make_hotel(city=CITY, rooms=3, days=45, currency="JPY", tax_rate=0.08, base_prices=(12345, 20001)),
    ]


restriction = st.tuples(
    st.integers(0, 2),  # hotel
    st.sampled_from(["STD", "DLX"]),
    st.integers(0, 60),  # from (days after today)
    st.integers(1, 6),  # nights
    st.sampled_from(
        [
            {"p_stop_sell": True},
            {"p_closed_to_arrival": True},
            {"p_closed_to_departure": True},
            {"p_min_stay": 3},
            {"p_max_stay": 4},
        ]
    ),
)
booking = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["STD", "DLX"]),
    st.integers(0, 40),
    st.integers(1, 8),
    st.integers(1, 2),
)
search = st.fixed_dictionaries(
    {
        "start": st.integers(0, 50),
        "nights": st.integers(1, 30),  # a hotel's longest stay
        "rooms": st.integers(1, 3),
        "adults": st.integers(1, 3),
        "children": st.integers(0, 1),
        "rank": st.sampled_from([None, "bronze", "silver", "gold", "platinum"]),
    }
)


def _round(x: Decimal, minor_units: int) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-minor_units), rounding=ROUND_HALF_UP)


@dataclass
class Offer:
    room_type_id: int
    rate_plan_id: int
    available: int
    currency: str
    subtotal: Decimal
    discount: Decimal  # length-of-stay + member, per room
    tax: Decimal
    total: Decimal  # per room


def reference_offers(db: psycopg.Connection, hotel_id: int, check_in, check_out, rooms, guests, customer_id):
    """Every bookable (room type, rate plan) of the hotel for the stay, priced night by night."""
    nights = (check_out - check_in).days
    currency, include_tax, tax_rate, mu = db.execute(
        """select h.currency, h.prices_include_tax, h.tax_rate, c.minor_units
           from core.hotels h join core.currencies c on c.code = h.currency where h.id = %s""",
        (hotel_id,),
    ).fetchone()
    member_rate = Decimal(0)
    if customer_id is not None:
        member_rate = db.execute(
            """select mr.discount_rate from core.customers c join core.membership_ranks mr on mr.code = c.rank_code
               where c.id = %s""",
            (customer_id,),
        ).fetchone()[0]
    discounts = db.execute(
        "select room_type_id, min_nights, discount_rate from core.length_of_stay_discounts where hotel_id = %s",
        (hotel_id,),
    ).fetchall()

    def los_rate(room_type_id):
        for scope in (room_type_id, None):
            fits = [(m, r) for t, m, r in discounts if t == scope and m <= nights]
            if fits:
                return max(fits)[1]
        return Decimal(0)

    offers = []
    for rt_id, max_occupancy in db.execute(
        "select id, max_occupancy from core.room_types where hotel_id = %s and active order by id",
        (hotel_id,),
    ).fetchall():
        if max_occupancy < guests:
            continue
        cal = {
            r[0]: r[1:]
            for r in db.execute(
                """select night, rack_rate, capacity + overbooking_allowance - blocked - held - booked,
                          stop_sell, closed_to_arrival, closed_to_departure, min_stay, max_stay
                   from core.inventory where hotel_id = %s and room_type_id = %s and night >= %s and night <= %s""",
                (hotel_id, rt_id, check_in, check_out),
            ).fetchall()
        }
        stay = [check_in + dt.timedelta(days=k) for k in range(nights)]
        if any(n not in cal for n in stay):
            continue  # a night not on sale
        available = min(cal[n][1] for n in stay)
        arrival = cal[check_in]
        if (
            available < rooms
            or any(cal[n][2] for n in stay)  # stop-sell
            or arrival[3]  # closed to arrival
            or (arrival[5] is not None and nights < arrival[5])
            or (arrival[6] is not None and nights > arrival[6])
            or (check_out in cal and cal[check_out][4])  # closed to departure
        ):
            continue
        for rp_id, multiplier, supplement in db.execute(
            """select id, price_multiplier, price_supplement from core.rate_plans
               where hotel_id = %s and room_type_id = %s and active order by id""",
            (hotel_id, rt_id),
        ).fetchall():
            with localcontext() as ctx:
                ctx.prec = 60
                subtotal = sum(_round(cal[n][0] * multiplier + supplement, mu) for n in stay)
                los = _round(subtotal * los_rate(rt_id), mu)
                member = _round((subtotal - los) * member_rate, mu)
                net = subtotal - los - member
                if include_tax:
                    tax = net - _round(net / (1 + tax_rate), mu)
                    total = net
                else:
                    tax = _round(net * tax_rate, mu)
                    total = net + tax
            offers.append(Offer(rt_id, rp_id, available, currency, subtotal, los + member, tax, total))
    offers.sort(key=lambda o: (o.total, o.room_type_id, o.rate_plan_id))
    return offers


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    weekend=st.lists(st.sampled_from([None, 1.15, 1.3, 1.37]), min_size=3, max_size=3),
    los=st.lists(
        st.tuples(st.integers(0, 2), st.booleans(), st.integers(2, 10), st.sampled_from([0.05, 0.125, 0.2]))
    ),
    restrictions=st.lists(restriction, max_size=6),
    bookings=st.lists(booking, max_size=6),
    searches=st.lists(search, min_size=1, max_size=4),
)
def test_searches_equal_the_reference_computation(
    db, chain, make_customer, book, weekend, los, restrictions, bookings, searches
):
    with db.transaction(force_rollback=True):
        for h, multiplier in zip(chain, weekend, strict=True):
            if multiplier is not None:
                scalar(db, "set_pricing_rule", p_hotel_id=h.id, p_kind="weekend", p_multiplier=multiplier)
        for i, per_room_type, min_nights, rate in los:
            h = chain[i]
            scalar(
                db,
                "set_length_of_stay_discount",
                p_hotel_id=h.id,
                p_min_nights=min_nights,
                p_discount_rate=rate,
                p_room_type_id=h.room_types["DLX"] if per_room_type else None,
            )
        for i, room_type, start, length, rule in restrictions:
            h = chain[i]
            scalar(
                db,
                "set_restrictions",
                p_hotel_id=h.id,
                p_room_type_id=h.room_types[room_type],
                p_from=h.day(start),
                p_until=h.day(start + length),
                **rule,
            )
        for i, room_type, start, nights, rooms in bookings:
            try:
                with db.transaction():  # a stay no longer on sale is refused; the calendar stays as it was
                    book(chain[i], start, nights, room_type=room_type, rooms=rooms)
            except psycopg.Error as exc:
                assert error_name(exc) in REFUSALS, exc
        offered = 0
        for s in searches:
            customer_id = make_customer(s["rank"]) if s["rank"] else None
            check_in = chain[0].day(s["start"])
            check_out = check_in + dt.timedelta(days=s["nights"])
            guests = {"p_adults": s["adults"], "p_children": s["children"], "p_rooms": s["rooms"]}
            city = {
                r["hotel_id"]: r
                for r in call(
                    db,
                    "search_city_availability",
                    p_city=CITY,
                    p_check_in=check_in,
                    p_check_out=check_out,
                    p_customer_id=customer_id,
                    **guests,
                )
            }
            for h in chain:
                want = reference_offers(
                    db, h.id, check_in, check_out, s["rooms"], s["adults"] + s["children"], customer_id
                )
                got = call(
                    db,
                    "search_availability",
                    p_hotel_id=h.id,
                    p_check_in=check_in,
                    p_check_out=check_out,
                    p_customer_id=customer_id,
                    **guests,
                )
                rooms = s["rooms"]
                assert [
                    (
                        r["room_type_id"],
                        r["rate_plan_id"],
                        r["available_rooms"],
                        r["currency"],
                        r["price_per_room"],
                        r["discount"],
                        r["tax"],
                        r["total"],
                        r["source"],
                    )
                    for r in got
                ] == [
                    (
                        o.room_type_id,
                        o.rate_plan_id,
                        o.available,
                        o.currency,
                        o.total,
                        o.discount * rooms,
                        o.tax * rooms,
                        o.total * rooms,
                        "ledger",
                    )
                    for o in want
                ], (h.id, s)
                row = city.get(h.id)
                if not want:
                    assert row is None, (h.id, s, row)
                    continue
                offered += 1
                best = want[0]
                assert row is not None, (h.id, s)
                assert (
                    row["bookable_offers"],
                    row["room_type_id"],
                    row["rate_plan_id"],
                    row["available_rooms"],
                    row["currency"],
                    row["lowest_total"],
                    row["source"],
                ) == (
                    len(want),
                    best.room_type_id,
                    best.rate_plan_id,
                    best.available,
                    best.currency,
                    best.total * rooms,
                    "ledger",
                ), (h.id, s)
            assert set(city) <= {h.id for h in chain}
