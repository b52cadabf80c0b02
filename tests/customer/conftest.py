"""Factories for the customer tests: customers through the api, a hotel as rows (tests/support/loyalty.py)."""

from tests.support.loyalty import checked_out, customer, hotel, ledger_ok, set_status, stay  # noqa: F401 (fixtures)
