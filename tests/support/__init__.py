"""What the tests of every domain share: calling the api by parameter name (sql), errors by their
registry name (errors), factories of hotels, customers, bookings and API keys (factories), and one
module of helpers per domain."""

from .errors import DENIED, error_name, raises_code, sqlstate
from .factories import (
    PIN,
    Clock,
    Hotel,
    RoomType,
    book,
    create_customer,
    issue_api_key,
    make_customer,
    make_hotel,
)
from .sql import call, one, rows, scalar

__all__ = [
    "DENIED",
    "PIN",
    "Clock",
    "Hotel",
    "RoomType",
    "book",
    "call",
    "create_customer",
    "error_name",
    "issue_api_key",
    "make_customer",
    "make_hotel",
    "one",
    "raises_code",
    "rows",
    "scalar",
    "sqlstate",
]
