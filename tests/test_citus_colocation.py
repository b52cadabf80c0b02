"""Citus co-location rules checked against the catalog (tools/hotelcore_tools/citus.py): each rule fails on a
fixture table made to break it; the real schema's remaining violations are exactly the known
list below (a new one fails, and so does a fixed one left on the list); docs/scale-out.md
carries the create_distributed_table / create_reference_table script the catalog gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotelcore_tools import citus

SCHEMA = "citus_fixture"
FIXTURE_REFERENCE = {"chains", "chain_notes"}

# A layout that breaks no rule: a reference table, two co-located hotel-owned tables, their keys.
GOOD = f"""
create schema {SCHEMA};
create table {SCHEMA}.chains (id bigint primary key, name text not null);
create table {SCHEMA}.stays (
    hotel_id bigint not null, id bigint not null, chain_id bigint references {SCHEMA}.chains (id),
    primary key (hotel_id, id));
create table {SCHEMA}.stay_nights (
    hotel_id bigint not null, stay_id bigint not null, room bigint not null, nights daterange not null,
    primary key (hotel_id, stay_id, nights),
    foreign key (hotel_id, stay_id) references {SCHEMA}.stays (hotel_id, id),
    exclude using gist (hotel_id with =, room with =, nights with &&));
"""

# rule -> (table breaking it, DDL)
BROKEN = {
    "distribution-key-type": (
        "small_keys",
        f"create table {SCHEMA}.small_keys (hotel_id integer not null, id bigint, primary key (hotel_id, id));",
    ),
    "unique-includes-key": (
        "id_only",
        f"create table {SCHEMA}.id_only (hotel_id bigint not null, id bigint primary key);",
    ),
    "exclusion-includes-key": (
        "room_only",
        f"create table {SCHEMA}.room_only (hotel_id bigint not null, room bigint, nights daterange,"
        " exclude using gist (room with =, nights with &&));",
    ),
    "fk-between-distributed-includes-key": (
        "loose_child",
        f"alter table {SCHEMA}.stays add constraint stays_id_unique unique (hotel_id, id, chain_id);"
        f"create table {SCHEMA}.loose_child (hotel_id bigint not null, stay_id bigint, chain_id bigint,"
        f" foreign key (stay_id, hotel_id, chain_id) references {SCHEMA}.stays (id, chain_id, hotel_id));",
    ),
    "reference-references-reference": (
        "chain_notes",
        f"create table {SCHEMA}.chain_notes (id bigint primary key, stay_hotel bigint, stay_id bigint,"
        f" foreign key (stay_hotel, stay_id) references {SCHEMA}.stays (hotel_id, id));",
    ),
    "classified": ("orphans", f"create table {SCHEMA}.orphans (id bigint primary key);"),
    "distribution-key-not-null": (
        "nullable_key",
        f"create table {SCHEMA}.nullable_key (hotel_id bigint, id bigint not null, unique (hotel_id, id));",
    ),
}


def test_the_good_fixture_breaks_no_rule(db):
    db.execute(GOOD)
    assert citus.check(db, SCHEMA, FIXTURE_REFERENCE) == []


def test_every_rule_has_a_fixture():
    rules = {
        line.split("``")[1] for line in citus.__doc__.splitlines() if line[:2].strip().rstrip(".").isdigit()
    }
    assert rules == set(BROKEN)


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_rule_fails_on_a_table_breaking_it(db, rule):
    table, ddl = BROKEN[rule]
    db.execute(GOOD)
    db.execute(ddl)
    found = citus.check(db, SCHEMA, FIXTURE_REFERENCE)
    assert (rule, table) in {(v.rule, v.table) for v in found}, found


# What the schema still breaks: each entry goes when a schema file fixes it (the test fails until
# it is removed here), and nothing may be added.
KNOWN = {
    # the event log and its webhook deliveries
    "classified: webhook_attempts: no hotel_id and not a declared reference table",
    "classified: webhook_deliveries: no hotel_id and not a declared reference table",
    "reference-references-reference: webhook_deliveries: webhook_deliveries_event_pk_fkey -> events (event_pk=id)",
    "classified: event_streams: no hotel_id and not a declared reference table",
    "distribution-key-not-null: events: hotel_id may be null",
    "unique-includes-key: events: events_aggregate_seq_unique (aggregate_kind, aggregate_id, aggregate_seq)",
    "unique-includes-key: events: events_event_id_unique (event_id)",
    "unique-includes-key: events: events_pkey (id)",
}


def test_the_schema_breaks_no_rule_beyond_the_known_list(db):
    found = {str(v) for v in citus.check(db)}
    assert sorted(found - KNOWN) == [], "a new co-location violation"
    assert sorted(KNOWN - found) == [], "fixed: remove it from KNOWN"


def test_the_chain_wide_ledgers_reference_no_hotel_table(db):
    found = [v for v in citus.check(db) if v.table in ("points_ledger", "rank_history")]
    assert found == []


def test_scale_out_doc_carries_the_catalogs_script(db):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "scale-out.md").read_text()
    block = doc.split("<!-- citus-script:start -->")[1].split("<!-- citus-script:end -->")[0]
    sql = block.split("```sql\n", 1)[1].rsplit("```", 1)[0]
    assert sql == citus.script(db), "regenerate it: python -m hotelcore_tools.citus (see docs/scale-out.md)"
