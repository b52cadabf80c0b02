"""Migrations are a product: round trip, equality with a fresh install, nothing unapplied."""

from __future__ import annotations

import psycopg
import pytest

from hotelcore_tools import catalog
from pyapi import migrate as mig


def test_every_sql_file_under_db_is_in_the_manifest():
    listed = set(mig.manifest_files())
    on_disk = {str(p.relative_to(mig.DB_DIR)) for p in mig.DB_DIR.rglob("*.sql")}
    assert on_disk - listed == set(), "add these files to db/manifest.txt"
    assert listed - on_disk == set(), "db/manifest.txt names files that do not exist"


def test_every_sql_file_is_applied_by_a_revision_as_it_is():
    assert mig.drift() == [], "run: make revision m='what changed'"


def test_released_schema_files_keep_their_recorded_hash():
    for rev in mig.revisions():
        for path, digest in rev.schema.items():
            assert mig.sha256((mig.DB_DIR / path).read_text()) == digest, (
                f"db/{path} edited after {rev.revision}"
            )


def test_each_revision_snapshot_exists():
    for rev in mig.revisions():
        for path, held in rev.replaceable.items():
            assert mig.snapshot_path(held, path).exists(), (rev.revision, path)


def test_round_trip_equals_fresh_install(empty_db: str, fresh_db: str):
    """upgrade -> downgrade to base (nothing left) -> upgrade == the template's fresh install."""
    mig.upgrade(empty_db)
    mig.downgrade(empty_db, "base")
    assert catalog.project_objects(empty_db) == []
    mig.upgrade(empty_db)
    assert catalog.schema_dump(empty_db) == catalog.schema_dump(fresh_db)


def test_step_by_step_round_trip(empty_db: str, fresh_db: str):
    """Each revision upgrades and downgrades one step at a time, and every step is reversible."""
    chain = mig.revisions()
    dumps = {}
    for rev in chain:
        mig.upgrade(empty_db, rev.revision)
        dumps[rev.revision] = catalog.schema_dump(empty_db)
    for rev in reversed(chain[:-1]):
        mig.downgrade(empty_db, rev.revision)
        assert catalog.schema_dump(empty_db) == dumps[rev.revision], f"downgrade to {rev.revision} differs"
    mig.downgrade(empty_db, "base")
    assert catalog.project_objects(empty_db) == []
    mig.upgrade(empty_db)
    assert catalog.schema_dump(empty_db) == catalog.schema_dump(fresh_db)


def test_no_table_depends_on_a_replaceable_schema(db: psycopg.Connection):
    """Revisions drop and rebuild api/internal/report; nothing in core may depend on them."""
    rows = db.execute(
        """
        select distinct pg_describe_object(d.classid, d.objid, d.objsubid),
               pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
        from pg_depend d
        join pg_proc p on d.refclassid = 'pg_proc'::regclass and p.oid = d.refobjid
        join pg_namespace n on n.oid = p.pronamespace and n.nspname in ('api', 'internal', 'report')
        where d.classid in ('pg_class'::regclass, 'pg_constraint'::regclass, 'pg_attrdef'::regclass)
          and d.deptype = 'n'
          and not exists (select 1 from pg_class c join pg_namespace cn on cn.oid = c.relnamespace
                          where d.classid = 'pg_class'::regclass and c.oid = d.objid
                            and cn.nspname in ('api', 'internal', 'report'))
          and not exists (select 1 from pg_rewrite r join pg_class c on c.oid = r.ev_class
                          join pg_namespace cn on cn.oid = c.relnamespace
                          where d.classid = 'pg_rewrite'::regclass and r.oid = d.objid
                            and cn.nspname in ('api', 'internal', 'report'))
        """
    ).fetchall()
    assert rows == []


def test_migration_is_serialised_by_an_advisory_lock(empty_db: str):
    """A second migrator waits for the first instead of racing it."""
    with psycopg.connect(empty_db) as holder:
        holder.execute("select pg_advisory_xact_lock(hashtext('hotelcore.migrate'))")
        with psycopg.connect(empty_db, autocommit=True) as probe:
            got = probe.execute("select pg_try_advisory_xact_lock(hashtext('hotelcore.migrate'))").fetchone()[
                0
            ]
            assert got is False
    mig.upgrade(empty_db)
    assert mig.current(empty_db) == mig.revisions()[-1].revision


@pytest.mark.parametrize("bad", ["-- no sections\nselect 1;", "-- migrate:down\n-- migrate:up\n"])
def test_schema_file_without_sections_is_refused(bad: str):
    with pytest.raises(mig.MigrationError):
        mig.split_up_down(bad, "schema/x.sql")
