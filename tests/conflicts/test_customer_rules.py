"""Seed 000's customer conflict rules, one table row per rule, each in both orders of arrival.

Each case is two updates the systems made on the same version of a customer (POST
/conflicts/detect), with their own timestamps. The first to arrive is applied; the second is
stale and judged. For the rules that resolve automatically, the customer ends the same whatever
the order of arrival; for the review cases, the second write is kept out of the master and an open
conflict records before / theirs / ours."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from tests.support.conflicts import detect, update
from tests.support.sql import one

PHONE = {"+819011112222"}


@dataclass
class Case:
    name: str
    a: dict
    b: dict
    verdict: str  # of the second arrival
    rule: str
    final: dict | None  # the customer after both, the same in both orders (auto rules)


CASES = [
    Case(
        "disjoint fields are both applied",
        update("member", 0, email="taro.t@example.com"),
        update("pms", 30, address_line2="Apt 5"),
        "merged",
        "disjoint_fields",
        {"email": "taro.t@example.com", "address_line2": "Apt 5"},
    ),
    Case(
        "the PMS's address within its allowed set is merged, however far apart",
        update("member", 30, address_line1="1-2-3 Nishi-Shinjuku 4F"),
        update("pms", 0, address_line1="1-2-3 Nishi-Shinjuku 5F"),
        "merged",
        "pms_allowed_fields",
        {"address_line1": "1-2-3 Nishi-Shinjuku 5F"},
    ),
    Case(
        "within 5 minutes on a non-critical field the later timestamp wins",
        update("member", 0, address_line2="Apt 5"),
        update("member", 4, address_line2="Apt 6"),
        "merged",
        "later_timestamp_wins",
        {"address_line2": "Apt 6"},
    ),
    Case(
        "the same field changed more than 5 minutes apart is reviewed",
        update("member", 0, address_line2="Apt 5"),
        update("member", 6, address_line2="Apt 6"),
        "needs_review",
        "changed_by_both_beyond_window",
        None,
    ),
    Case(
        "a phone clash is reviewed (seed 000's example)",
        update("member", 0, phone="090-1234-5678"),
        update("pms", 2, phone="080-9876-5432"),
        "needs_review",
        "critical_field_clash",
        None,
    ),
    Case(
        "a name clash is reviewed",
        update("member", 0, given_name="Taroo"),
        update("pms", 1, given_name="Tarou"),
        "needs_review",
        "critical_field_clash",
        None,
    ),
    Case(
        "a change of half the text or more is reviewed",
        update("member", 0, city="Shinjuku-ku"),  # unchanged by this one: the second is judged alone
        update("member", 1, city="Sapporo"),
        "needs_review",
        "large_change",
        None,
    ),
    Case(
        "a reported points balance differing from the ledger is reviewed, never written",
        update("member", 0, points_balance=500),
        update("pms", 1, points_balance=700),
        "needs_review",
        "money_field",
        None,
    ),
]


@pytest.mark.parametrize("order", ["a_first", "b_first"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(db: psycopg.Connection, customer, case: Case, order: str):
    cid = customer()
    first, second = (case.a, case.b) if order == "a_first" else (case.b, case.a)
    before = one(db, "select to_jsonb(c) from core.customers c where id = %s", cid)
    if case.rule == "large_change":
        # two members moving the city: 'Shinjuku-ku' -> 'Shibuya-ku' first, then a large change
        first = (
            update("member", 0, city="Shibuya-ku")
            if order == "a_first"
            else update("member", 1, city="Sapporo")
        )
        second = (
            update("member", 1, city="Sapporo")
            if order == "a_first"
            else update("member", 0, city="Shibuya-ku")
        )
    answer = detect(db, "customer", cid, [first, second])
    r1, r2 = answer["results"]
    if case.rule == "money_field":
        # money is never applied, not even by the first to arrive
        assert r1["verdict"] == r2["verdict"] == "needs_review"
        assert one(db, "select version from core.customers where id = %s", cid) == before["version"]
        assert r2["rule"] == "money_field"
        return
    assert r1["verdict"] == "applied" and r1["conflict_id"] is None
    assert r2["verdict"] == case.verdict, r2
    assert r2["rule"] == case.rule, r2
    conflict = one(db, "select to_jsonb(f) from core.conflicts f where id = %s", r2["conflict_id"])
    assert conflict["entity_type"] == "customer" and conflict["entity_id"] == cid
    assert conflict["ours_system"] == second["system"].removeprefix("hotel-")
    assert conflict["theirs_system"] == first["system"].removeprefix("hotel-")
    doc = one(db, "select to_jsonb(c) from core.customers c where id = %s", cid)
    if case.verdict == "merged":
        assert conflict["status"] == "resolved" and conflict["resolver"] == "system"
        for key, value in case.final.items():
            assert doc[key] == value, (key, doc[key])
    else:
        # the stale write is not applied: the master is what the first write made it
        assert conflict["status"] == "open" and conflict["resolved_at"] is None
        assert doc["version"] == before["version"] + 1
        for key, value in second["fields"].items():
            column = "phone_e164" if key == "phone" else key
            assert conflict["ours"][column] is not None
            assert doc[column] != value or column == "phone_e164"
        # before / theirs / ours are recorded
        assert set(conflict["before"]) >= set(conflict["ours"])
        assert conflict["theirs"] or case.rule in ("large_change",)
    # every conflict emitted its event in the same transaction
    assert (
        one(
            db,
            "select count(*) from core.events where type = 'customer.conflict_detected' and payload ->> 'conflict_id' = %s",
            str(r2["conflict_id"]),
        )
        == 1
    )


def test_live_updates_use_their_arrival_time_and_the_callers_system(db: psycopg.Connection, customer):
    """api.update_customer with a stale version: the PMS (SET ROLE) and the member write the
    address; the PMS's value is kept whichever arrives second."""
    for pms_first in (True, False):
        cid = customer()
        writes = [("hotelcore_pms", "Apt 7"), ("hotelcore_member", "Apt 8")]
        if not pms_first:
            writes.reverse()
        for role, value in writes:
            db.execute(f"set role {role}")
            try:
                doc = one(
                    db,
                    "select api.update_customer(%s, 1, jsonb_build_object('address_line2', %s::text))",
                    cid,
                    value,
                )
            finally:
                db.execute("reset role")
        assert doc["conflict"]["rule"] == "pms_allowed_fields"
        assert one(db, "select address_line2 from core.customers where id = %s", cid) == "Apt 7"
        systems = db.execute(
            "select system from core.customer_changes where customer_id = %s order by version", (cid,)
        ).fetchall()
        assert [s for (s,) in systems][0] == ("pms" if pms_first else "member")


def test_an_admins_change_is_the_cores_not_a_systems(db: psycopg.Connection, customer):
    """A superuser is a member of every system's role; its change is recorded as the core's, not
    as the first system in the alphabet, so no system's priority is borrowed by maintenance work."""
    cid = customer()
    one(db, "select api.update_customer(%s, 1, jsonb_build_object('address_line2', 'Apt 9'))", cid)
    assert one(db, "select system from core.customer_changes where customer_id = %s", cid) == "core"
    db.execute("set role hotelcore_member")
    try:
        one(db, "select api.update_customer(%s, 2, jsonb_build_object('address_line2', 'Apt 10'))", cid)
    finally:
        db.execute("reset role")
    assert (
        one(db, "select system from core.customer_changes where customer_id = %s and version = 3", cid)
        == "member"
    )
