"""api.resolve_conflict (seed 000 POST /conflicts/{conflict_id}/resolve): the three methods, and
every bad input refused with its registered error and nothing written."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.conflicts import detect, resolve, update
from tests.support.errors import raises_code
from tests.support.sql import one


@pytest.fixture
def phone_clash(db: psycopg.Connection, customer) -> tuple[int, int]:
    """A customer whose phone hotel-member and hotel-pms changed 2 minutes apart, while the PMS
    also moved the flat: an open conflict (the PMS's write was kept out)."""
    cid = customer()
    answer = detect(
        db,
        "customer",
        cid,
        [
            update("member", 0, phone="090-1234-5678"),
            update("pms", 2, phone="080-9876-5432", address_line2="Apt 9"),
        ],
    )
    return cid, answer["results"][1]["conflict_id"]


def test_manual_sets_the_chosen_values_and_bumps_the_version(db, phone_clash):
    cid, conflict_id = phone_clash
    version = one(db, "select version from core.customers where id = %s", cid)
    out = resolve(
        db,
        conflict_id,
        "manual",
        {"phone": "080-9876-5432", "resolution_reason": "顧客から電話で新番号確認済み"},
        "admin-user-123",
    )
    assert out["entity"]["phone_e164"] == "+818098765432"
    assert out["entity"]["version"] == version + 1
    c = out["conflict"]
    assert (c["status"], c["resolution_method"], c["resolver"]) == ("resolved", "manual", "admin-user-123")
    assert c["resolution_reason"] == "顧客から電話で新番号確認済み" and c["resolved_version"] == version + 1
    assert (
        one(
            db,
            "select conflict_id from core.customer_changes where customer_id = %s and version = %s",
            cid,
            version + 1,
        )
        == conflict_id
    )
    assert one(db, "select count(*) from core.events where type = 'customer.conflict_resolved'") == 1


def test_auto_merge_applies_what_did_not_clash(db, phone_clash):
    cid, conflict_id = phone_clash
    out = resolve(db, conflict_id, "auto_merge", {})
    assert out["entity"]["address_line2"] == "Apt 9"  # the PMS's flat, which clashed with nothing
    assert out["entity"]["phone_e164"] == "+819012345678"  # the member's phone stays


def test_priority_based_keeps_the_masters_owner(db, phone_clash):
    cid, conflict_id = phone_clash
    version = one(db, "select version from core.customers where id = %s", cid)
    out = resolve(db, conflict_id, "priority_based", {"resolution_reason": "member is the master"})
    # the stale write was the PMS's: hotel-member's values stay, nothing is written
    assert out["entity"]["phone_e164"] == "+819012345678" and out["entity"]["version"] == version
    assert out["conflict"]["status"] == "resolved"


def test_manual_without_values_dismisses(db, phone_clash):
    _, conflict_id = phone_clash
    out = resolve(db, conflict_id, "manual", {"resolution_reason": "the guest confirmed the old number"})
    assert out["conflict"]["status"] == "dismissed"


def test_unknown_id(db):
    with raises_code("CONFLICT_NOT_FOUND"):
        resolve(db, 987654321, "manual", {"resolution_reason": "x"})


@pytest.mark.parametrize("method", ["vote", "", None, "MANUAL"])
def test_wrong_method(db, phone_clash, method):
    _, conflict_id = phone_clash
    with raises_code("INVALID_RESOLUTION"):
        resolve(db, conflict_id, method, {"resolution_reason": "x"})
    assert one(db, "select status from core.conflicts where id = %s", conflict_id) == "open"


def test_resolved_twice(db, phone_clash):
    _, conflict_id = phone_clash
    resolve(db, conflict_id, "auto_merge", {})
    with raises_code("CONFLICT_ALREADY_RESOLVED"):
        resolve(db, conflict_id, "manual", {"phone": "090-1234-5678", "resolution_reason": "again"})


def test_a_conflict_the_rules_merged_is_already_resolved(db, customer):
    cid = customer()
    answer = detect(
        db, "customer", cid, [update("member", 0, email="a1@example.com"), update("pms", 1, city="Shinjuku")]
    )
    with raises_code("CONFLICT_ALREADY_RESOLVED"):
        resolve(db, answer["results"][1]["conflict_id"], "auto_merge", {})


@pytest.mark.parametrize(
    "data",
    [
        {"email": "x@example.com", "resolution_reason": "not a field of this conflict"},
        {"shoe_size": 42, "resolution_reason": "not a field of a customer"},
        {"points_balance": 10, "resolution_reason": "money is corrected through the ledger"},
    ],
    ids=["field_of_the_customer_outside_the_conflict", "field_outside_the_entity", "money"],
)
def test_data_outside_the_conflict(db, phone_clash, data):
    cid, conflict_id = phone_clash
    version = one(db, "select version from core.customers where id = %s", cid)
    with raises_code("INVALID_RESOLUTION"):
        resolve(db, conflict_id, "manual", data)
    assert one(db, "select version from core.customers where id = %s", cid) == version
    assert one(db, "select status from core.conflicts where id = %s", conflict_id) == "open"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "manual", "data": {"phone": "090-1234-5678"}},  # no reason
        {"method": "auto_merge", "data": {"phone": "090-1234-5678"}},  # values with an automatic method
    ],
)
def test_incomplete_resolution(db, phone_clash, kwargs):
    _, conflict_id = phone_clash
    with raises_code("INVALID_RESOLUTION"):
        resolve(db, conflict_id, kwargs["method"], kwargs["data"])


@pytest.mark.parametrize("user", ["", "  ", None, "u" * 201])
def test_resolver_is_required(db, phone_clash, user):
    _, conflict_id = phone_clash
    with raises_code("INVALID_ARGUMENT"):
        resolve(db, conflict_id, "auto_merge", {}, user)


def test_bad_value_in_resolved_data_is_refused_whole(db, phone_clash):
    cid, conflict_id = phone_clash
    with raises_code("INVALID_PHONE"):
        resolve(db, conflict_id, "manual", {"phone": "not a phone", "resolution_reason": "typo"})
    assert one(db, "select status from core.conflicts where id = %s", conflict_id) == "open"
