"""A realistic, deterministic dataset for the benchmarks and the demo.

A chain of N hotels (default 100) in several countries, time zones and currencies, each with
about 20 room types and 200 rooms, three rate plans per room type, weekday / weekend / season /
holiday pricing (holidays from the ``holidays`` library for the hotel's country), a one-year
calendar, members across the ranks (names from Faker in the locale of their home hotel), and a
configurable share of the nights already booked.

Two steps, so that the plan is testable without a database:

* :func:`make_plan` turns a :class:`DatasetSpec` into plain Python data. Same spec and seed,
  same plan: every random choice comes from one ``random.Random(seed)`` stream per part.
* :func:`load` writes the plan. Where a rule matters (hotels, room types, rooms, rate plans,
  pricing, holidays, the calendar) it calls the ledger's ``api`` functions; where only volume
  matters (members, the bookings already on the books) it writes set-based SQL and sets the
  inventory counters from the very rows it inserted, so "counters = recount" holds.

Dates in the plan are offsets from each hotel's local "today" (``internal.now()`` in the
hotel's time zone), read at load time, so a booking on night 0 is tonight wherever the hotel is.
"""

from .load import Loaded, check_invariants, figures, hotel_today, invariants_hold, load  # noqa: F401
from .plan import (  # noqa: F401
    AMENITIES,
    CITIES,
    FX,
    RANK_MIX,
    RATE_PLANS,
    ROOM_TYPES,
    STAY_LENGTHS,
    DatasetSpec,
    HotelPlan,
    MemberPlan,
    Plan,
    RoomTypePlan,
    StayPlan,
    make_plan,
)
