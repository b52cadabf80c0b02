"""The reservation ledger's factories live in tests/support/reservation.py (the property tests use
them too): a hotel built through the api (room types, rooms, rate plans, an open calendar),
customers as rows (their api belongs to loyalty), bookings through hold and confirm, the client.
Every test starts at the pinned clock, so no run straddles a hotel's midnight."""

from tests.support.factories import pinned_clock  # noqa: F401 (autouse fixture)
from tests.support.reservation import book, client, customer, hotel, make_customer, make_hotel  # noqa: F401 (fixtures)
