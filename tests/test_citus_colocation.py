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


# A second co-location group (as the event log is, by aggregate): its tables are checked against
# their own key, and a foreign key from a hotel-owned table into the group crosses groups.
GROUP = {"stay_id": {"stay_log", "stay_log_notes"}}
GROUPED = f"""
create table {SCHEMA}.stay_log (stay_id bigint not null, id bigint not null, hotel_id bigint, primary key (id, stay_id));
create table {SCHEMA}.stay_log_notes (stay_id bigint not null, log_id bigint not null, note text,
    foreign key (log_id, stay_id) references {SCHEMA}.stay_log (id, stay_id));
"""


def test_a_group_is_checked_against_its_own_key(db):
    db.execute(GOOD)
    db.execute(GROUPED)
    # hotel_id may be null and is in no key: the group's key is stay_id
    assert citus.check(db, SCHEMA, FIXTURE_REFERENCE, GROUP) == []
    db.execute(f"create unique index stay_log_by_hotel on {SCHEMA}.stay_log (hotel_id, id)")
    db.execute(
        f"alter table {SCHEMA}.stays add column log_id bigint, add column log_stay bigint,"
        f" add foreign key (log_id, log_stay) references {SCHEMA}.stay_log (id, stay_id)"
    )
    found = {(v.rule, v.table) for v in citus.check(db, SCHEMA, FIXTURE_REFERENCE, GROUP)}
    assert found == {("unique-includes-key", "stay_log"), ("fk-between-distributed-includes-key", "stays")}
    by_key, _ = citus.plan(db, SCHEMA, FIXTURE_REFERENCE, GROUP)
    assert by_key == {"hotel_id": ["stay_nights", "stays"], "stay_id": ["stay_log", "stay_log_notes"]}


# What the schema still breaks: each entry goes when a schema file fixes it (the test fails until
# it is removed here), and nothing may be added.
KNOWN: set[str] = set()


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
