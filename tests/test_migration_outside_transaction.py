"""A revision applied outside a transaction (TRANSACTION = False): a fixture revision written by
`migrations new --no-transaction` builds an index with CREATE INDEX CONCURRENTLY while bookings
run (no booking fails; the build could not run in a transaction at all), an invalid index left
by an earlier failed concurrent build is rebuilt, and squawk holds such revisions to the
concurrent and re-runnable forms."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg
import pytest

from pyapi import migrate as mig
from pyapi import migration_lint as ml
from pyapi.client import Client
from tests.support.ops import book, booking_load, build_hotel, make_customer

FIXTURE = "schema/fixture--concurrent-index.sql"
FIXTURE_SQL = """-- Fixture: an index on a table bookings write, built while they write.
-- migrate:up
create index concurrently if not exists reservations_fixture_created
    on core.reservations (hotel_id, created_at);

-- migrate:down
drop index concurrently if exists core.reservations_fixture_created;
"""


def with_fixture_revision(tmp_path: Path, monkeypatch) -> mig.Revision:
    """The project's db/ and migrations/ copied, the fixture file added to the manifest and a
    revision written for it by the generator; the runner pointed at the copies."""
    db_dir, mig_dir = tmp_path / "db", tmp_path / "migrations"
    shutil.copytree(mig.DB_DIR, db_dir)
    shutil.copytree(mig.MIGRATIONS_DIR, mig_dir, ignore=shutil.ignore_patterns("__pycache__"))
    (db_dir / FIXTURE).write_text(FIXTURE_SQL)
    with (db_dir / "manifest.txt").open("a") as f:
        f.write(f"\n{FIXTURE}\n")
    monkeypatch.setattr(mig, "DB_DIR", db_dir)
    monkeypatch.setattr(mig, "MANIFEST", db_dir / "manifest.txt")
    monkeypatch.setattr(mig, "MIGRATIONS_DIR", mig_dir)
    monkeypatch.setattr(mig, "VERSIONS_DIR", mig_dir / "versions")
    path = mig.new_revision("fixture: an index built concurrently", transaction=False)
    assert path is not None and "TRANSACTION = False" in path.read_text()
    rev = mig.revisions()[-1]
    assert rev.path == path and rev.transaction is False and list(rev.schema) == [FIXTURE]
    return rev


def test_squawk_holds_a_revision_outside_a_transaction_to_the_concurrent_forms(tmp_path, monkeypatch):
    rev = with_fixture_revision(tmp_path, monkeypatch)
    report = ml.lint()
    assert [str(f) for f in report.findings if f.revision == rev.revision] == []
    concurrent = ml.runner_preamble(False) + FIXTURE_SQL.split("-- migrate:down")[0]
    # the same build inside the runner's transaction is refused by squawk (and by PostgreSQL)
    inside = ml.lint_sql({"inside": ml.runner_preamble() + concurrent})
    assert "ban-concurrent-index-creation-in-transaction" in {f["rule_name"] for f in inside}
    # outside a transaction the concurrent rule is enforceable: a plain build is a finding ...
    plain = ml.runner_preamble(False) + "create index if not exists holds_x on core.holds (expires_at);\n"
    found = {f["rule_name"] for f in ml.lint_sql({"plain": plain}, outside={"plain"})}
    assert "require-concurrent-index-creation" in found
    # ... and so is a statement that cannot run again after a failure part way
    fragile = ml.runner_preamble(False) + "create index concurrently holds_x on core.holds (expires_at);\n"
    assert "prefer-robust-stmts" in {f["rule_name"] for f in ml.lint_sql({"f": fragile}, outside={"f"})}
    # the zero-downtime unique key: a unique index built concurrently, then adopted
    adopt = (
        ml.runner_preamble(False)
        + "create unique index concurrently if not exists holds_hk on core.holds (hotel_id, id);\n"
        + "alter table core.holds add constraint holds_hk unique using index holds_hk;\n"
    )
    rules = {f["rule_name"] for f in ml.lint_sql({"adopt": adopt}, outside={"adopt"})}
    assert not rules & {"require-concurrent-index-creation", "disallowed-unique-constraint"}, rules


def test_an_index_built_concurrently_by_a_revision_while_bookings_run(empty_db, tmp_path, monkeypatch):
    mig.upgrade(empty_db)
    before = mig.current(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        hotel = build_hotel(conn, rooms=80, days=60)
        customers = [make_customer(conn) for _ in range(4)]
    seed = Client(empty_db, min_size=1, max_size=1)
    try:
        for i in range(3):
            book(seed, hotel, customers[0], 1000 + i)
    finally:
        seed.close()
    with psycopg.connect(empty_db, autocommit=True) as conn:
        # a concurrent build that failed (a duplicate) leaves its index behind, invalid
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "create unique index concurrently reservations_fixture_created on core.reservations (hotel_id)"
            )
        assert conn.execute(
            "select indisvalid from pg_index where indexrelid = 'core.reservations_fixture_created'::regclass"
        ).fetchone() == (False,)
    rev = with_fixture_revision(tmp_path, monkeypatch)

    with booking_load(empty_db, hotel, customers) as load:
        mig_start = time.monotonic()
        mig.upgrade(empty_db, "head")
        mig_end = time.monotonic()
    assert load.failed == []
    assert load.overlapping(mig_start, mig_end), "no booking ran during the build"
    assert mig.current(empty_db) == rev.revision
    with psycopg.connect(empty_db, autocommit=True) as conn:
        # rebuilt: valid, and the revision's index (not the failed unique one)
        assert conn.execute(
            "select indisvalid, indisunique, pg_get_indexdef(indexrelid) from pg_index"
            " where indexrelid = 'core.reservations_fixture_created'::regclass"
        ).fetchone()[:2] == (True, False)
        booked = conn.execute(
            "select count(*) from core.reservations where id = any(%s)", [load.reservation_ids]
        ).fetchone()[0]
        assert booked == len(load.done)
        # the replaceable objects were synced at the new head, in the transaction after the build
        assert conn.execute("select to_regprocedure('api.get_reservation(bigint)') is not null").fetchone()[0]
    mig.downgrade(empty_db, before)
    assert mig.current(empty_db) == before
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute("select to_regclass('core.reservations_fixture_created')").fetchone()[0] is None
    print(
        f"\nindex built concurrently in {mig_end - mig_start:.2f} s under load: {len(load.done)} bookings"
        f" ({load.retries} retried), 0 failed"
    )


def _key_revisions() -> tuple[mig.Revision, mig.Revision]:
    chain = mig.revisions()
    first = next(r for r in chain if "schema/scaleout--hotel-key-indexes.sql" in r.schema)
    second = next(r for r in chain if "schema/scaleout--hotel-primary-keys.sql" in r.schema)
    return first, second


def _sections(rev: mig.Revision, part: int) -> list[str]:
    """A revision's up (part 0) or down (part 1) sections, in the order the runner applies them."""
    paths = list(rev.schema) if part == 0 else list(reversed(list(rev.schema)))
    return [mig.split_up_down((mig.DB_DIR / path).read_text(), path)[part] for path in paths]


def _outside_transaction(conn: psycopg.Connection, sqls: list[str]) -> None:
    """As the runner applies a TRANSACTION = False revision: statement by statement, autocommit."""
    for sql in sqls:
        for statement in mig._statements(sql):
            conn.execute(statement)


def test_the_hotel_key_revisions_apply_while_bookings_run(empty_db):
    """The Citus-ready keys (the revision building the indexes concurrently outside a
    transaction, then the one swapping the keys onto them) applied while 4 clients book. The
    database is at head with the two revisions' DDL undone (their down sections, the replaceable
    objects dropped and put back around them, as the runner does), so that every later
    revision's objects and the current functions are in place (the folio and night-charge
    inserts name no key: they run with either); then their up sections run as the runner runs
    them. No booking fails; every index is valid; the keys include hotel_id."""
    first, second = _key_revisions()
    assert first.transaction is False and second.transaction is True
    mig.upgrade(empty_db)
    with psycopg.connect(empty_db) as conn:
        mig.drop_replaceables(conn)  # as the runner's downgrade does
        for down in _sections(second, 1):
            conn.execute(down)
        conn.commit()
    with psycopg.connect(empty_db, autocommit=True) as conn:
        _outside_transaction(conn, _sections(first, 1))
    with psycopg.connect(empty_db) as conn:
        mig.sync_replaceables(conn)
        conn.commit()
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute(
            "select pg_get_constraintdef(oid) from pg_constraint where conname = 'reservations_pkey'"
        ).fetchone() == ("PRIMARY KEY (id)",)
        hotel = build_hotel(conn, rooms=200, days=180)  # room-nights the load cannot sell out
        customers = [make_customer(conn) for _ in range(4)]

    lost: list[str] = []  # the SQLSTATE of each attempt the swap lost

    def swap_keys() -> None:
        try:
            with psycopg.connect(empty_db) as conn:
                conn.execute("set local lock_timeout = '3s'")
                for up in _sections(second, 0):
                    conn.execute(up)
                mig.sync_replaceables(conn)  # in the keys' transaction, as the runner's upgrade does
                conn.commit()
        except psycopg.Error as exc:
            lost.append(exc.sqlstate or "")
            raise

    with booking_load(empty_db, hotel, customers, days=180) as load:
        mig_start = time.monotonic()
        with psycopg.connect(empty_db, autocommit=True) as conn:
            conn.execute("set lock_timeout = '10s'")
            _outside_transaction(conn, _sections(first, 0))
        swap_start = time.monotonic()
        mig._retrying(swap_keys)  # a lost lock race runs it again, as the runner's upgrade does
        mig_end = time.monotonic()
    assert load.failed == []
    assert load.overlapping(mig_start, mig_end), "no booking ran during the migration"
    assert load.overlapping(swap_start, mig_end), "no booking ran during the key swap"
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert conn.execute("select count(*) from pg_index where not indisvalid").fetchone() == (0,)
        assert conn.execute(
            "select pg_get_constraintdef(oid) from pg_constraint where conname = 'reservations_pkey'"
        ).fetchone() == ("PRIMARY KEY (id, hotel_id)",)
        booked = conn.execute(
            "select count(*) from core.reservations where id = any(%s)", [load.reservation_ids]
        ).fetchone()[0]
        assert booked == len(load.done)
        folios = conn.execute(
            "select count(*) from core.folios where reservation_id = any(%s)", [load.reservation_ids]
        ).fetchone()[0]
        assert folios == len(load.done)  # one folio per booking, before and after the swap
        assert conn.execute("select to_regclass('api.folio_balances') is not null").fetchone()[0]
    # the swap takes its locks up front in the bookings' order: it waits for them and never
    # deadlocks with them (a lock_timeout on a slow machine is retried, as the runner does)
    assert "40P01" not in lost, f"the key swap deadlocked with the bookings: {lost}"
    print(
        f"\nhotel keys swapped in {mig_end - swap_start:.2f} s ({len(lost) + 1} attempt(s); indexes and swap"
        f" {mig_end - mig_start:.2f} s) under load: {len(load.done)} bookings,"
        f" {len(load.overlapping(swap_start, mig_end))} during the swap, {load.retries} retried, 0 failed"
    )
