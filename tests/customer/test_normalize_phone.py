"""internal.normalize_phone: typed phone numbers become E.164, or INVALID_PHONE."""

from __future__ import annotations

import psycopg

from tests.support.errors import raises_code

READABLE = [
    ("+82-10-1234-5678", None, "+821012345678"),
    ("+82 010 1234 5678", None, "+821012345678"),  # trunk 0 written after the country code
    ("010-1234-5678", "KR", "+821012345678"),
    ("02-123-4567", "KR", "+8221234567"),
    ("001-81-90-1234-5678", "KR", "+819012345678"),  # Korean international prefix
    ("090-1234-5678", "JP", "+819012345678"),
    ("03 (1234) 5678", "JP", "+81312345678"),
    ("０９０－１２３４－５６７８", "JP", "+819012345678"),  # full-width
    ("+81 (0)90 1234 5678", None, "+819012345678"),
    ("010-82-10-1234-5678", "JP", "+821012345678"),  # Japanese international prefix
    ("0082 10 1234 5678", "GB", "+821012345678"),
    ("(212) 555-1234", "US", "+12125551234"),
    ("1-212-555-1234", "US", "+12125551234"),
    ("+39 06 1234 5678", None, "+390612345678"),  # Italy keeps its leading 0
    ("+358 40 1234567", None, "+358401234567"),  # outside the plan table: E.164 shape only
    ("", "JP", None),
    (None, "JP", None),
]

UNREADABLE = [
    ("090-1234-5678 ext 12", "JP"),  # extensions are not E.164
    ("call me", "JP"),
    ("090-1234", "JP"),  # too short for Japan
    ("+82-10-1234-5678-999", None),  # too long for Korea
    ("090-1234-5678", None),  # national without a country
    ("090-1234-5678", "ZZ"),
    ("+0 123 456 789", None),
    ("+1 212 555 123", None),
    ("1+2", "JP"),
]


def test_normalises_common_inputs(db: psycopg.Connection):
    """One database for the whole table: each case is one call."""
    for typed, country, e164 in READABLE:
        got = db.execute("select internal.normalize_phone(%s, %s)", (typed, country)).fetchone()[0]
        assert got == e164, (typed, country)


def test_refuses_unreadable_numbers(db: psycopg.Connection):
    for typed, country in UNREADABLE:
        with raises_code("INVALID_PHONE"):
            db.execute("select internal.normalize_phone(%s, %s)", (typed, country))
