"""Test harness: one PostgreSQL per session, a template database migrated once, and a fresh
database cloned from it (CREATE DATABASE ... TEMPLATE) for every test.

Server: ``HOTELCORE_TEST_DOCKER=1`` -> a testcontainers PostgreSQL; ``DATABASE_URL`` -> that
server; otherwise the project's embedded PostgreSQL 18.

Under pytest-xdist (``-n N``) every worker is a process of its own: its databases, its template
and its login roles carry its pid, so workers share the server and nothing else. The controller
starts the embedded server before the workers do, so that no two of them start (or tune and
restart) it at once.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from pyapi import migrate as mig
from pyapi.server import drop_database, get_server, recreate_database

_counter = itertools.count()
_PREFIX = f"hct{os.getpid()}"
# DROP DATABASE forces an immediate checkpoint and waits for it, so one drop costs a second or
# more on a busy server. Background threads drop while the next tests run; several at once, so
# that their checkpoint requests are served by one checkpoint instead of one each. The session
# waits for them before the server fixture ends.
_dropper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dropdb")


def _drop_orphans(server_url: str) -> None:
    """Drop the test databases of earlier runs on this machine whose process is gone (a run
    killed before its teardown), so that they do not pile up on the server. Only on a server
    reached over a Unix socket or loopback, where the pid in a name is a pid of this machine."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("select coalesce(host(inet_server_addr()) in ('127.0.0.1', '::1'), true)").fetchone()[
            0
        ]:
            names = [
                row[0]
                for row in conn.execute("select datname from pg_database where datname ~ '^hct[0-9]+_'")
            ]
        else:
            names = []
    for name in names:
        pid = int(name[3:].split("_", 1)[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _dropper.submit(drop_database, server_url, name)
        except PermissionError:
            pass  # a live process of another user


def create_database(server_url: str, name: str, template: str = "template0") -> str:
    """A new database ``name`` cloned from ``template``; its URL."""
    return recreate_database(server_url, name, template)


# Tests that wait until their events are readable (below the xmin of every snapshot on the server)
# and tests that hold one transaction open for long (bulk loads, migrations, demo runs): under
# xdist (--dist loadgroup) they run on one worker, one after another, so that no long transaction
# of one worker holds back the events another worker waits for.
ONE_SNAPSHOT_AT_A_TIME = (
    "tests/events/",
    "tests/webhooks/",
    "tests/rights/test_rights_events.py",
    "tests/bench/",
    "tests/demo/",
    "tests/test_migrations.py",
    "tests/test_migration_safety.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix()
        if path.startswith(ONE_SNAPSHOT_AT_A_TIME):
            item.add_marker(pytest.mark.xdist_group("one-snapshot-at-a-time"))


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or os.environ.get("HOTELCORE_TEST_DOCKER") == "1":
        return
    if config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None):
        get_server().check()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    if os.environ.get("HOTELCORE_TEST_DOCKER") == "1":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:18", driver=None) as pg:
            yield pg.get_connection_url()
            _dropper.shutdown(wait=True)
        return
    server = get_server()
    server.check()
    yield server.url
    _dropper.shutdown(wait=True)


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A database migrated to head once per session; tests clone it."""
    name = f"{_PREFIX}_template"
    _drop_orphans(server_url)
    url = create_database(server_url, name)
    mig.upgrade(url)
    yield name
    drop_database(server_url, name)


@pytest.fixture
def fresh_db(server_url: str, template_db: str) -> Iterator[str]:
    """URL of a new database cloned from the migrated template, dropped after the test."""
    name = f"{_PREFIX}_{next(_counter)}"
    url = create_database(server_url, name, template=template_db)
    yield url
    _dropper.submit(drop_database, server_url, name)


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    """URL of a new empty database (for migration tests)."""
    name = f"{_PREFIX}_{next(_counter)}_empty"
    url = create_database(server_url, name)
    yield url
    drop_database(server_url, name)


@pytest.fixture
def db(fresh_db: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh migrated database, like a client's."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        yield conn


class Hammer:
    """Runs a callable from several connections at once, started together by a barrier."""

    def __init__(self, url: str):
        self.url = url

    def run(self, workers: int, fn: Callable[[psycopg.Connection, int], object]) -> list[object]:
        barrier = threading.Barrier(workers)

        def work(i: int) -> object:
            with psycopg.connect(self.url, autocommit=True) as conn:
                barrier.wait()
                return fn(conn, i)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(work, range(workers)))


@pytest.fixture
def hammer(fresh_db: str) -> Hammer:
    return Hammer(fresh_db)
