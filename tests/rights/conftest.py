"""Factories for the data-rights tests (issue 7): login roles of each system, a small chain of two
hotels built through the api as the owner, and connections made as a login over a real socket.

Roles belong to the cluster while every test has its own database: the logins are created once
per test session with names of their own (``hcr<pid>_<name>``) and dropped at the session's end.
They hold memberships only (no object privilege), so dropping them never waits for the test
databases, which the harness drops in the background.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from pyapi import config
from tests.support.rights import PASSWORD, World, build_world

SYSTEMS = ("member", "pms", "saas", "bi", "admin")
_PREFIX = f"hcr{os.getpid()}"


@dataclass
class Logins:
    names: dict[str, str]  # key -> login role name

    def __getitem__(self, key: str) -> str:
        return self.names[key]


@pytest.fixture(scope="session")
def logins(server_url: str) -> Iterator[Logins]:
    """One login per system (member, pms, saas, bi, admin), plus ``pool``: the HTTP layer's kind
    of login, a member of every system group and of hotelcore_service so that it may SET LOCAL
    ROLE to each (without hotelcore_admin: a request never needs it)."""
    names = {s: f"{_PREFIX}_{s}" for s in SYSTEMS} | {"pool": f"{_PREFIX}_pool"}
    with psycopg.connect(server_url, autocommit=True) as conn:
        for key, name in names.items():
            groups = (
                ["hotelcore_member", "hotelcore_pms", "hotelcore_saas", "hotelcore_service"]
                if key == "pool"
                else [f"hotelcore_{key}"]
            )
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
            conn.execute(
                sql.SQL("create role {} login password {} in role {}").format(
                    sql.Identifier(name),
                    sql.Literal(PASSWORD),
                    sql.SQL(", ").join(map(sql.Identifier, groups)),
                )
            )
    yield Logins(names)
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


@pytest.fixture
def connect_as(fresh_db: str, logins: Logins) -> Iterator[Callable[..., psycopg.Connection]]:
    """``connect_as('pms')``: a connection to the test's database as that system's login."""
    opened: list[psycopg.Connection] = []

    def connect(key: str, *, autocommit: bool = False) -> psycopg.Connection:
        conn = psycopg.connect(fresh_db, user=logins[key], password=PASSWORD, autocommit=autocommit)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def world(db: psycopg.Connection) -> World:
    return build_world(db)


@pytest.fixture(scope="module")
def shared_db(server_url: str, template_db: str) -> Iterator[str]:
    """A database of its own for a module whose tests only read (or roll back): built once."""
    name = f"{_PREFIX}_{os.urandom(4).hex()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    yield config.with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def shared_world(shared_db: str) -> World:
    with psycopg.connect(shared_db, autocommit=True) as conn:
        return build_world(conn)


@pytest.fixture(scope="module")
def shared_connect_as(shared_db: str, logins: Logins) -> Iterator[Callable[..., psycopg.Connection]]:
    """As connect_as, on the module's shared database; one connection per login, reused."""
    opened: dict[tuple[str, bool], psycopg.Connection] = {}

    def connect(key: str, *, autocommit: bool = False) -> psycopg.Connection:
        if (key, autocommit) not in opened:
            opened[key, autocommit] = psycopg.connect(
                shared_db, user=logins[key], password=PASSWORD, autocommit=autocommit
            )
        return opened[key, autocommit]

    yield connect
    for conn in opened.values():
        conn.close()
