"""Migration safety: squawk over every revision's DDL (as the runner executes it), the lint
catching each unsafe pattern it exists for, and the replaceable objects replaced while bookings
run with no booking failing."""

from __future__ import annotations

import time

import psycopg
import pytest

from pyapi import migrate as mig
from pyapi import migration_lint as ml
from tests.support.ops import booking_load, build_hotel, make_customer


def test_every_revision_passes_squawk_or_documents_why():
    report = ml.lint()
    assert report.linted == sum(1 for r in mig.revisions() if r.schema)
    assert [str(f) for f in report.findings] == []
    assert report.stale == []
    for finding, reason in report.excepted:
        assert len(reason.split()) >= 8, f"{finding}: the exception's reason is too short to explain it"


# Each unsafe statement on an existing table, and the rule that must catch it.
UNSAFE = {
    "index_not_concurrent": (
        "create index holds_x on core.holds (expires_at);",
        "require-concurrent-index-creation",
    ),
    "constraint_validated_at_once": (
        "alter table core.holds add constraint holds_x check (rooms < 100);",
        "constraint-missing-not-valid",
    ),
    "foreign_key_validated_at_once": (
        "alter table core.holds add constraint holds_y foreign key (hotel_id) references core.hotels (id);",
        "adding-foreign-key-constraint",
    ),
    "column_type_rewrite": ("alter table core.holds alter column rooms type bigint;", "changing-column-type"),
    "not_null_on_existing_column": (
        "alter table core.holds alter column client_key set not null;",
        "adding-not-nullable-field",
    ),
    "required_column_without_default": (
        "alter table core.holds add column origin text not null;",
        "adding-required-field",
    ),
    "volatile_default": (
        "alter table core.holds add column token uuid default gen_random_uuid();",
        "adding-field-with-default",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_the_lint_catches_each_unsafe_ddl(case):
    sql, rule = UNSAFE[case]
    found = ml.lint_sql({case: ml.runner_preamble() + sql + "\n"})
    assert rule in {f["rule_name"] for f in found}, found


def test_the_safe_forms_pass():
    safe = (
        ml.runner_preamble()
        + "alter table core.holds add constraint holds_x check (rooms < 100) not valid;\n"
        + "alter table core.holds add column note text;\n"
        + "create table core.ops_new (id bigint primary key, note text not null);\n"
        + "create index ops_new_note on core.ops_new (note);\n"
    )
    assert ml.lint_sql({"safe": safe}) == []


def test_validating_in_the_same_transaction_is_caught():
    # VALIDATE belongs in the next revision: in the same transaction it keeps the lock of the ADD
    found = ml.lint_sql(
        {
            "same_tx": ml.runner_preamble()
            + "alter table core.holds add constraint holds_x check (rooms < 100) not valid;\n"
            + "alter table core.holds validate constraint holds_x;\n"
        }
    )
    assert "constraint-missing-not-valid" in {f["rule_name"] for f in found}


def test_without_the_runner_settings_the_lock_timeout_rule_fires():
    found = ml.lint_sql({"bare": "alter table core.holds add column note text;\n"})
    assert "require-lock-timeout" in {f["rule_name"] for f in found}


def test_every_replaceable_object_replaced_under_booking_load_with_no_failed_booking(empty_db):
    """The worst deploy of replaceable objects: every function, view and trigger's text changed
    (their recorded checksums made stale), replaced while bookings run; no booking fails."""
    mig.upgrade(empty_db)
    latest = mig.revisions()[-1].revision
    with psycopg.connect(empty_db, autocommit=True) as conn:
        hotel = build_hotel(conn, rooms=80, days=60)
        customers = [make_customer(conn) for _ in range(4)]
        conn.execute(
            "update public.hotelcore_replaceable set checksum = 'stale:' || split_part(checksum, ':', 2)"
            " where kind <> 'script'"
        )

    with booking_load(empty_db, hotel, customers, after=1.0) as load:
        mig_start = time.monotonic()
        mig.upgrade(empty_db, "head")
        mig_end = time.monotonic()
    assert mig.current(empty_db) == latest
    assert load.failed == []
    overlapping = load.overlapping(mig_start, mig_end)
    assert overlapping, "no booking ran while the revision was applied"
    assert load.after(mig_end), "no booking ran after the revision was applied"
    with psycopg.connect(empty_db, autocommit=True) as conn:
        booked = conn.execute(
            "select count(*) from core.reservations where id = any(%s)", [load.reservation_ids]
        ).fetchone()[0]
        assert booked == len(load.done)
        assert (
            conn.execute(
                "select count(*) from report.inventory_recount where oversold or drifted"
            ).fetchone()[0]
            == 0
        )
        stale = conn.execute(
            "select count(*) from public.hotelcore_replaceable where checksum like 'stale:%%'"
        ).fetchone()[0]
        assert stale == 0
    print(
        f"\nevery replaceable object replaced in {mig_end - mig_start:.2f} s under load: "
        f"{len(load.done)} bookings, {len(overlapping)} during the migration, {load.retries} retried, 0 failed"
    )
