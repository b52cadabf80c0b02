"""Factories for the customer tests: customers through the api, a hotel as rows (tests/support/loyalty.py)."""

from tests.support.loyalty import customer, hotel  # noqa: F401 (fixtures)
