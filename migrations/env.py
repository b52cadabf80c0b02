"""Alembic environment: the same URL as every other hotelcore command, one transaction (a
revision declaring TRANSACTION = False commits the work before it and runs in autocommit,
pyapi/migrate.py), and an advisory lock so two deploys (or two test workers) never migrate one database at once, and
the runner's lock_timeout and statement_timeout (pyapi/migration_lint.py): a DDL statement that
cannot get its lock soon fails the deploy instead of queueing every booking behind it. After the
versioned revisions, in the same transaction, the replaceable objects follow db/ (at head) or
go (below head): pyapi/migrate.py, after_revisions."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from pyapi import config as hc_config
from pyapi import migrate as hc_migrate
from pyapi.migration_lint import runner_preamble
from pyapi.server import get_server

cfg = context.config
if cfg.config_file_name is not None and not cfg.attributes.get("hotelcore_url"):
    fileConfig(cfg.config_file_name)

# Held by the session, not the transaction: a revision applied outside a transaction commits the
# work before it, and the lock must outlast that commit (the connection's close releases it).
MIGRATION_LOCK = "select pg_advisory_lock(hashtext('hotelcore.migrate'))"

# In a lock cycle with live transactions the one whose deadlock_timeout ends first is aborted:
# the migration waits longer than any client (when its role may set it), so a booking is the
# one retried (every hotelcore client retries 40P01) and the migration goes on; its own
# lock_timeout still ends a wait that is too long, and the runner then starts it again.
DEADLOCK_LOSER = (
    "select pg_catalog.set_config('deadlock_timeout', '30s', true)"
    " where pg_catalog.has_parameter_privilege('deadlock_timeout', 'SET')"
)


def run_migrations_online() -> None:
    url = cfg.attributes.get("hotelcore_url") or get_server().url
    engine = create_engine(hc_config.sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
        with context.begin_transaction():
            connection.execute(text(MIGRATION_LOCK))
            for statement in runner_preamble().splitlines():
                connection.exec_driver_sql(statement)
            connection.exec_driver_sql(DEADLOCK_LOSER)
            context.run_migrations()
            hc_migrate.after_revisions(connection)


if context.is_offline_mode():
    raise SystemExit("hotelcore migrations run online only (they apply SQL files)")
run_migrations_online()
