"""The front desk's factories live in tests/support/frontdesk.py (the guest-service tests use them
too): a hotel built through the api, customers as rows, bookings through the ledger's hold and
confirm, stays checked in, and the pinned clock."""

from tests.support.frontdesk import (  # noqa: F401 (fixtures)
    book,
    checked_in,
    clock,
    customer,
    hotel,
    make_customer,
    make_hotel,
    pay_balance,
    pinned_clock,
)
