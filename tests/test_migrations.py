"""Migrations are a product: round trip, equality with a fresh install, nothing unapplied,
released revisions immutable, and a deploy that changes one object changes only that object."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from hotelcore_tools import catalog
from pyapi import config, repeatable
from pyapi import migrate as mig


def test_every_sql_file_under_db_is_in_the_manifest():
    listed = set(mig.manifest_files())
    on_disk = {str(p.relative_to(mig.DB_DIR)) for p in mig.DB_DIR.rglob("*.sql")}
    assert on_disk - listed == set(), "add these files to db/manifest.txt"
    assert listed - on_disk == set(), "db/manifest.txt names files that do not exist"


def test_every_versioned_file_is_applied_and_every_released_revision_unchanged():
    assert mig.drift() == [], "run: make revision m='what changed'"


def test_released_schema_files_keep_their_recorded_hash():
    for rev in mig.revisions():
        for path, digest in rev.schema.items():
            assert mig.sha256((mig.DB_DIR / path).read_text()) == digest, (
                f"db/{path} edited after {rev.revision}"
            )


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
    """A replacement PostgreSQL refuses drops the object with CASCADE: nothing in core may depend
    on api, internal or report."""
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
    """A second migrator waits for the first instead of racing it: while another session of the
    same database holds the migration lock, a migration applies nothing; once it is released, the
    migration runs to the head. Advisory locks belong to one database, so the sessions of other
    databases of the cluster (other test runs) neither hold it nor see it."""
    with (
        psycopg.connect(empty_db, autocommit=True) as holder,
        psycopg.connect(empty_db, autocommit=True) as watch,
    ):
        holder.execute("select pg_advisory_lock(hashtext('hotelcore.migrate'))")
        with ThreadPoolExecutor(max_workers=1) as pool:
            migration = pool.submit(mig.upgrade, empty_db)
            # wait for the migrator's request of the lock (not a timed sleep: the loop ends when it
            # waits, or when it finished without waiting, which fails below)
            waiting = False
            while not waiting and not migration.done():
                waiting = watch.execute(
                    """select exists (select 1 from pg_locks l
                                      where l.locktype = 'advisory' and not l.granted
                                        and l.database = (select oid from pg_database where datname = current_database())
                                        and l.pid <> pg_backend_pid())"""
                ).fetchone()[0]
                time.sleep(0.01)
            assert waiting, "the migration ran without waiting for the migration lock"
            assert mig.current(empty_db) is None  # nothing applied while it waits
            holder.execute("select pg_advisory_unlock(hashtext('hotelcore.migrate'))")
            migration.result()
    assert mig.current(empty_db) == mig.revisions()[-1].revision


@pytest.mark.parametrize("bad", ["-- no sections\nselect 1;", "-- migrate:down\n-- migrate:up\n"])
def test_schema_file_without_sections_is_refused(bad: str):
    with pytest.raises(mig.MigrationError):
        mig.split_up_down(bad, "schema/x.sql")


# --------------------------------------------------------------------------- no copies


def _sql_lines(path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()]


def test_migrations_stay_small_and_hold_no_text_of_db():
    db_lines = sum(len(p.read_text().splitlines()) for p in mig.DB_DIR.rglob("*.sql"))
    mig_files = [p for p in mig.MIGRATIONS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    mig_lines = sum(len(p.read_text().splitlines()) for p in mig_files)
    assert mig_lines <= 0.15 * db_lines, f"migrations/ has {mig_lines} lines, db/ {db_lines}"
    # every statement-like line of db/ (not a comment, not a bracket) must not appear again
    db_text = {
        line
        for p in mig.DB_DIR.rglob("*.sql")
        for line in _sql_lines(p)
        if len(line) > 30 and not line.startswith("--") and re.search(r"[a-z]\w* ", line)
    }
    copied = {
        (str(p.relative_to(mig.MIGRATIONS_DIR)), line)
        for p in mig_files
        for line in _sql_lines(p)
        if line in db_text
    }
    assert copied == set()


# --------------------------------------------------------------------------- released revisions


def test_the_revisions_of_the_first_releases_are_released():
    done = mig.released()
    assert {f"{i:04d}" for i in range(1, 16)} <= set(done)
    assert mig.released_problems() == []


def test_an_edited_released_revision_is_detected(tmp_path):
    lines = mig.RELEASED.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("0004 db/schema/"))
    rev_id, name, digest = lines[i].split()
    lines[i] = f"{rev_id} {name} {'0' * 64}"
    tampered = tmp_path / "released"
    tampered.write_text("\n".join(lines) + "\n")
    problems = mig.released_problems(tampered)
    assert problems == [f"{name} of released revision 0004 was edited: add a new revision instead"]


def test_a_released_revision_cannot_be_amended(monkeypatch):
    head = mig.revisions()[-1]
    monkeypatch.setattr(mig, "released", lambda path=None: {head.revision: {}})
    with pytest.raises(mig.MigrationError, match="released"):
        mig.new_revision("", amend=True)
    assert head.path.exists()


# --------------------------------------------------------------------------- one object at a time


def _state(url: str) -> dict:
    """What a deploy must not touch: each function's catalog row version, each trigger's oid,
    each materialized view's storage."""
    with psycopg.connect(url, autocommit=True) as conn:
        procs = dict(
            conn.execute(
                "select p.oid::regprocedure::text, p.xmin::text from pg_proc p"
                " join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('api', 'internal', 'report')"
            ).fetchall()
        )
        triggers = dict(
            conn.execute(
                "select t.tgrelid::regclass::text || ' ' || t.tgname, t.oid from pg_trigger t"
                " join pg_class c on c.oid = t.tgrelid where not t.tgisinternal"
                " and c.relnamespace = 'core'::regnamespace"
            ).fetchall()
        )
        matviews = dict(
            conn.execute(
                "select oid::regclass::text, relfilenode from pg_class where relkind = 'm'"
                " and relnamespace = 'report'::regnamespace"
            ).fetchall()
        )
    return {"procs": procs, "triggers": triggers, "matviews": matviews}


_SOURCES = mig.replaceable_sources  # the files as they are (tests patch the module's)


def _edited(path: str, old: str, new: str) -> dict[str, str]:
    sources = _SOURCES()
    assert sources[path].count(old) == 1, old
    sources[path] = sources[path].replace(old, new)
    return sources


CORE_TABLES = """
    select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'core' and c.relkind in ('r', 'p') order by 1"""


def test_a_changed_trigger_function_replaces_only_that_function_and_locks_no_table(fresh_db, monkeypatch):
    before = _state(fresh_db)
    monkeypatch.setattr(
        mig,
        "replaceable_sources",
        lambda: _edited(
            "triggers/reservation.sql",
            "    if new.status is distinct from old.status\n",
            "    -- the status machine, checked on every status change\n    if new.status is distinct from old.status\n",
        ),
    )
    monkeypatch.setenv("HOTELCORE_MIGRATION_LOCK_TIMEOUT", "1s")
    monkeypatch.setenv("HOTELCORE_MIGRATION_ATTEMPTS", "1")
    # live writers on every core table: ROW EXCLUSIVE conflicts with trigger DDL (SHARE ROW
    # EXCLUSIVE), ALTER TABLE and index builds, not with reads or writes
    with psycopg.connect(fresh_db) as writer:
        tables = [r[0] for r in writer.execute(CORE_TABLES).fetchall()]
        writer.execute(f"lock table {', '.join(tables)} in row exclusive mode")
        mig.upgrade(fresh_db)
        writer.rollback()
    after = _state(fresh_db)
    changed = "internal.tg_reservations__guard_status()"
    assert after["procs"].keys() == before["procs"].keys()
    assert {k for k in before["procs"] if before["procs"][k] != after["procs"][k]} == {changed}
    assert after["triggers"] == before["triggers"]
    assert after["matviews"] == before["matviews"]
    with psycopg.connect(fresh_db) as conn:
        body = conn.execute(f"select prosrc from pg_proc where oid = '{changed}'::regprocedure").fetchone()[0]
        assert "checked on every status change" in body


def test_a_change_create_or_replace_cannot_make_recreates_the_object_and_its_dependents(
    fresh_db, monkeypatch
):
    """report.revenue_monthly with its columns reordered: dropped with CASCADE (report.sales_monthly
    reads it) and created again, the dependent view with its comments and grants; the original
    text then restores the fresh install exactly."""
    fresh = catalog.schema_dump(fresh_db)
    before = _state(fresh_db)
    monkeypatch.setattr(
        mig,
        "replaceable_sources",
        lambda: _edited(
            "views/report.sql",
            "select d.hotel_id, date_trunc('month', d.day::timestamp)::date as month, d.currency,",
            "select date_trunc('month', d.day::timestamp)::date as month, d.hotel_id, d.currency,",
        ),
    )
    with psycopg.connect(fresh_db) as conn:
        report = mig.sync_replaceables(conn)
        conn.commit()
    assert report.recreated == ["view report.revenue_monthly"]
    assert "view report.sales_monthly" in report.created
    with psycopg.connect(fresh_db) as conn:
        cols = conn.execute(
            "select attname from pg_attribute where attrelid = 'report.revenue_monthly'::regclass and attnum < 3"
            " order by attnum"
        ).fetchall()
        assert [c[0] for c in cols] == ["month", "hotel_id"]
        assert conn.execute(
            "select has_table_privilege('hotelcore_bi', 'report.sales_monthly', 'select')"
        ).fetchone()[0]
    after = _state(fresh_db)
    assert after["triggers"] == before["triggers"]
    assert after["matviews"] == before["matviews"]
    monkeypatch.undo()
    mig.upgrade(fresh_db)
    assert catalog.schema_dump(fresh_db) == fresh


def test_a_new_object_is_created_closed_to_public_and_a_removed_one_dropped(fresh_db, monkeypatch):
    fresh = catalog.schema_dump(fresh_db)
    extra = (
        "\ncreate function api.migration_probe() returns integer language sql as $$ select 1 $$;\n"
        "comment on function api.migration_probe() is 'A probe.';\n"
    )
    monkeypatch.setattr(mig, "replaceable_sources", lambda: {**_SOURCES(), "functions/probe.sql": extra})
    mig.upgrade(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert (
            conn.execute(
                "select has_function_privilege('public', 'api.migration_probe()', 'execute')"
            ).fetchone()[0]
            is False
        )
        assert (
            conn.execute("select obj_description('api.migration_probe()'::regprocedure)").fetchone()[0]
            == "A probe."
        )
    monkeypatch.undo()
    mig.upgrade(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select to_regprocedure('api.migration_probe()')").fetchone()[0] is None
    assert catalog.schema_dump(fresh_db) == fresh


def test_an_unchanged_deploy_touches_nothing(fresh_db):
    before = _state(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        report = mig.sync_replaceables(conn)
        locked = conn.execute(
            "select l.relation::regclass::text from pg_locks l join pg_class c on c.oid = l.relation"
            " where l.pid = pg_backend_pid() and c.relnamespace = 'core'::regnamespace"
        ).fetchall()
    assert not report.changed
    assert locked == []
    assert _state(fresh_db) == before


def test_every_replaceable_statement_belongs_to_an_object_or_a_pass():
    entities = repeatable.parse(mig.replaceable_sources())
    keys = [e.key for e in entities]
    assert len(keys) == len(set(keys))
    objects = [e for e in entities if e.kind != "script"]
    assert len(objects) > 300
    # a COMMENT ON an object goes with it, never to a pass
    for e in entities:
        if e.kind == "script":
            assert not any(s.lower().startswith("comment on") for s in e.statements), e.key


# --------------------------------------------------------------------------- earlier releases

# The last commit whose runner rebuilt api, internal and report from copies (revision 0015).
LEGACY_RELEASE = "c1b3f88"


def _legacy_tree(tmp_path) -> str | None:
    root = str(config.PROJECT_ROOT)
    have = subprocess.run(
        ["git", "-C", root, "cat-file", "-e", f"{LEGACY_RELEASE}^{{commit}}"], capture_output=True
    )
    if have.returncode != 0:
        return None
    archive = subprocess.run(
        [
            "git",
            "-C",
            root,
            "archive",
            LEGACY_RELEASE,
            "pyapi",
            "migrations",
            "db",
            "alembic.ini",
            ".squawk.toml",
        ],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path, filter="data")
    return str(tmp_path)


def test_a_database_of_the_earlier_runner_upgrades_to_the_fresh_install(empty_db, fresh_db, tmp_path):
    tree = _legacy_tree(tmp_path)
    if tree is None:
        pytest.skip(f"commit {LEGACY_RELEASE} is not in this clone's history")
    env = {**os.environ, "PYTHONPATH": tree}
    subprocess.run(
        [sys.executable, "-c", f"from pyapi import migrate; migrate.upgrade({empty_db!r})"],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
    )
    assert mig.current(empty_db) == "0015"
    with psycopg.connect(empty_db) as conn:  # the earlier runner's layout: no bookkeeping yet
        assert conn.execute("select to_regclass('public.hotelcore_replaceable')").fetchone()[0] is None
        assert (
            conn.execute("select count(*) from pg_proc where pronamespace = 'api'::regnamespace").fetchone()[
                0
            ]
            > 100
        )
    mig.upgrade(empty_db)
    assert catalog.schema_dump(empty_db) == catalog.schema_dump(fresh_db)
    mig.downgrade(empty_db, "base")
    assert catalog.project_objects(empty_db) == []


def test_every_project_object_is_owned_by_hotelcore_owner(db: psycopg.Connection):
    """Versioned DDL hands over what it creates, the replaceable passes what they create."""
    rows = db.execute(
        """
        select format('%s.%s', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('core', 'api', 'internal', 'report') and c.relkind in ('r', 'p', 'v', 'm', 'S')
          and c.relowner <> 'hotelcore_owner'::regrole
        union all
        select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('core', 'api', 'internal', 'report') and p.proowner <> 'hotelcore_owner'::regrole
        union all
        select nspname::text from pg_namespace
        where nspname in ('core', 'api', 'internal', 'report') and nspowner <> 'hotelcore_owner'::regrole
        """
    ).fetchall()
    assert rows == []


def test_the_parser_attaches_comments_and_grants_to_their_object():
    sql = """
        create function api.f(p_at timestamptz, p_code char(3) default 'EUR', out total integer)
        language sql as $$ select 1 $$;
        comment on function api.f(timestamp with time zone, character) is 'F.';
        grant execute on function api.f(timestamptz, bpchar) to hotelcore_admin;
        create view report.v as select 1 as one;
        comment on column report.v.one is 'One.';
        create trigger _100_t before update on core.holds for each row execute function internal.t();
        comment on trigger _100_t on core.holds is 'T.';
        grant usage on schema api to hotelcore_bi;
    """
    entities = repeatable.parse({"functions/x.sql": sql})
    assert [(e.key, len(e.statements)) for e in entities] == [
        ("function api.f(timestamptz, character)", 3),
        ("view report.v", 2),
        ("trigger _100_t on core.holds", 2),
        ("script functions/x.sql#1", 1),
    ]
    with pytest.raises(repeatable.ReplaceableError, match="defined twice"):
        repeatable.parse(
            {
                "views/a.sql": "create view report.v as select 1;",
                "views/b.sql": "create view report.v as select 2;",
            }
        )
