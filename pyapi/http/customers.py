"""The customer's fields, written once. The bodies that create a customer (hotel-member), change
any of its fields (hotel-member) and change its basic fields (hotel-pms) are made from this list,
and a created customer's fields go to ``api.create_customer`` by the same names."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from .common import Body, Version, text

# name: (type, what a new customer gets when the field is absent; ... = required)
FIELDS: dict[str, tuple[Any, Any]] = {
    "given_name": (text(100, 1), ...),
    "family_name": (text(100, 1), ...),
    "email": (text(254) | None, None),
    "phone": (text(40) | None, None),
    "phone_country": (text(2) | None, None),
    "given_name_reading": (text(100) | None, None),
    "family_name_reading": (text(100) | None, None),
    "postal_code": (text(20) | None, None),
    "address_line1": (text(200) | None, None),
    "address_line2": (text(200) | None, None),
    "city": (text(100) | None, None),
    "region": (text(100) | None, None),
    "country_code": (text(2) | None, None),
    "language": (text(10), "en"),
    "is_member": (bool, True),
    "marketing_consent": (bool, False),
    "preferences": (dict[str, Any], Field(default_factory=dict)),
}

# the fields the PMS may change (seed 000: names, phone, address); the rest belongs to hotel-member
BASIC = (
    "given_name",
    "family_name",
    "phone",
    "phone_country",
    "postal_code",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "country_code",
)


def _optional(names) -> dict[str, tuple[Any, None]]:
    """The fields as a change takes them: each absent (kept) or given, null clearing an optional one."""
    return {name: (FIELDS[name][0] | None, None) for name in names}


CustomerCreate = create_model(
    "CustomerCreate",
    __base__=Body,
    __module__=__name__,
    __doc__="A new customer: a member unless is_member is false.",
    **FIELDS,
)

CustomerUpdate = create_model(
    "CustomerUpdate",
    __base__=Body,
    __module__=__name__,
    __doc__="The fields to change (absent fields are kept; null clears an optional one).",
    version=(
        Version | None,
        Field(default=None, description="The version read; VERSION_CONFLICT when stale."),
    ),
    **_optional(FIELDS),
)

CustomerBasic = create_model(
    "CustomerBasic",
    __base__=Body,
    __module__=__name__,
    __doc__="The fields the PMS may change (seed 000: names, phone, address).",
    version=(Version, Field(description="The version read; VERSION_CONFLICT when stale.")),
    **_optional(BASIC),
)
