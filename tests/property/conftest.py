"""The property tests build hotels, customers and bookings with the reservation ledger's factories
(tests/support/reservation.py)."""

from tests.support.reservation import book, customer, hotel, make_customer, make_hotel  # noqa: F401 (fixtures)
