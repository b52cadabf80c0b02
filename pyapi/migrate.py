"""How Alembic revisions apply the SQL under ``db/`` (see README, "Migrations").

Two kinds of files, two rules:

* **Versioned DDL** (``db/schema/*.sql``): tables, types, constraints, indexes, materialized views
  and the few functions a table itself depends on. Each file has a ``-- migrate:up`` and a
  ``-- migrate:down`` section; the revision that first applies it records its sha256, and a file
  is never edited after that (a later change to a domain is a new file,
  ``db/schema/<domain>--<slug>.sql``). Revisions carry only these.
* **Replaceable objects** (``db/functions``, ``db/triggers``, ``db/views``): repeatable, object by
  object (:mod:`pyapi.repeatable`). At the head revision, after the versioned revisions, each
  object whose text changed is replaced, removed ones are dropped, unchanged ones are not touched;
  their checksums are recorded in ``public.hotelcore_replaceable``. The package holds only its own
  replaceable texts: below head, and after any downgrade, the database holds none of them.

**Outside a transaction.** The runner applies pending revisions in one transaction, so that a
failed deploy leaves nothing half done. A revision that must not run in a transaction
(``CREATE INDEX CONCURRENTLY``, which builds an index while writes go on, and the constraint
that then adopts it with ``USING INDEX``) says ``TRANSACTION = False``
(``hotelcore migrations new --no-transaction``): the work of the revisions before it is
committed, and its files run statement by statement in autocommit (Alembic's
``autocommit_block``), under the runner's lock and statement timeouts; the next revisions run in
a new transaction. Such a revision is written to be run again after a failure part way
(``IF NOT EXISTS``; squawk's ``prefer-robust-stmts`` asks for it), and an index a failed
concurrent build left invalid is dropped before the statement that builds it runs again.

A released revision is immutable: ``migrations/released`` records the sha256 of each released
revision file and of the schema files it applies (``hotelcore migrations release``).

``db/manifest.txt`` lists every file under ``db/`` in the order it is applied.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from . import config, repeatable

DB_DIR = config.PROJECT_ROOT / "db"
MANIFEST = DB_DIR / "manifest.txt"
MIGRATIONS_DIR = config.PROJECT_ROOT / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
RELEASED = MIGRATIONS_DIR / "released"

REPLACEABLE_KINDS = repeatable.KINDS
REPLACEABLE_SCHEMAS = repeatable.SCHEMAS

# The first revision of the object-by-object layout: below it, api, internal and report hold
# nothing (the releases before it rebuilt them at every upgrade from copies of db/).
LAYOUT_REVISION = "0016"

_UP = re.compile(r"^--\s*migrate:up\s*$", re.M)
_DOWN = re.compile(r"^--\s*migrate:down\s*$", re.M)


class MigrationError(RuntimeError):
    pass


# --------------------------------------------------------------------------- files


def manifest_files() -> list[str]:
    """Paths relative to db/, in apply order, from db/manifest.txt (comments and blanks skipped)."""
    out = []
    for line in MANIFEST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def is_replaceable(path: str) -> bool:
    return path.split("/", 1)[0] in REPLACEABLE_KINDS


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def split_up_down(text: str, name: str) -> tuple[str, str]:
    """The up and down sections of a versioned DDL file."""
    up = _UP.search(text)
    down = _DOWN.search(text)
    if not up or not down or down.start() < up.start():
        raise MigrationError(f"{name}: needs a '-- migrate:up' section followed by '-- migrate:down'")
    return text[up.end() : down.start()], text[down.end() :]


# --------------------------------------------------------------------------- revisions


@dataclass
class Revision:
    revision: str
    down_revision: str | None
    path: Path
    schema: dict[str, str] = field(default_factory=dict)
    transaction: bool = True  # False: TRANSACTION = False, applied outside a transaction


def _load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hotelcore_rev_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def revisions() -> list[Revision]:
    """Every revision, base first."""
    by_id: dict[str, Revision] = {}
    for path in sorted(VERSIONS_DIR.glob("*.py")):
        mod = _load_module(path)
        rev = Revision(
            revision=mod.revision,
            down_revision=mod.down_revision,
            path=path,
            schema=dict(getattr(mod, "SCHEMA", {})),
            transaction=in_transaction(vars(mod)),
        )
        by_id[rev.revision] = rev
    chain: list[Revision] = []
    current = next((r for r in by_id.values() if r.down_revision is None), None)
    while current is not None:
        chain.append(current)
        current = next((r for r in by_id.values() if r.down_revision == current.revision), None)
    if len(chain) != len(by_id):
        raise MigrationError("migrations/versions does not form a single linear chain")
    return chain


def head() -> str | None:
    chain = revisions()
    return chain[-1].revision if chain else None


# --------------------------------------------------------------------------- applying


def _execute(conn, sql: str) -> None:
    """Run a multi-statement script on the raw psycopg connection (simple query protocol)."""
    if sql.strip():
        with repeatable._raw(conn).cursor() as cur:
            cur.execute(sql)


def replaceable_sources() -> dict[str, str]:
    """db/ path -> text of every replaceable file, in apply order."""
    return {p: (DB_DIR / p).read_text() for p in manifest_files() if is_replaceable(p)}


def sync_replaceables(conn, sources: dict[str, str] | None = None) -> repeatable.SyncReport:
    """Bring the replaceable objects to the files' text, object by object."""
    try:
        entities = repeatable.parse(sources if sources is not None else replaceable_sources())
    except repeatable.ReplaceableError as exc:
        raise MigrationError(str(exc)) from exc
    return repeatable.sync(conn, entities)


def drop_replaceables(conn, legacy: bool = False) -> None:
    """Drop the replaceable objects this database holds. ``legacy``: below the object-by-object
    layout, where api, internal and report held nothing else."""
    repeatable.drop_all(conn)
    if legacy:
        _execute(conn, "drop schema if exists " + ", ".join(REPLACEABLE_SCHEMAS) + " cascade;")


def after_revisions(conn) -> None:
    """Run by migrations/env.py after the versioned revisions, in their transaction: at head the
    replaceable objects follow the files; below head the database holds none (this package
    cannot vouch for its texts against an older schema)."""
    with repeatable._raw(conn).cursor() as cur:
        cur.execute("select version_num from public.alembic_version")
        row = cur.fetchone()
    at = row[0] if row else None
    if at is not None and at == head():
        sync_replaceables(conn)
    else:
        drop_replaceables(conn, legacy=at is not None and at < LAYOUT_REVISION)


def _schema_sql(path: str) -> tuple[str, str]:
    return split_up_down((DB_DIR / path).read_text(), path)


def in_transaction(module_globals: dict) -> bool:
    """False for a revision declaring ``TRANSACTION = False`` (see the module's docstring)."""
    return module_globals.get("TRANSACTION", True) is not False


def _statements(sql: str) -> list[str]:
    """The statements of a script, split by PostgreSQL's parser."""
    import pglast

    return [s for s in pglast.split(sql) if s.strip()]


def _drop_invalid_index(cur, statement: str) -> None:
    """Before ``CREATE INDEX CONCURRENTLY name``: an index of that name left INVALID by a failed
    concurrent build (it takes writes' cost and serves no read) is dropped, so the build runs
    again instead of ``IF NOT EXISTS`` keeping the broken one."""
    import pglast

    stmt = pglast.parse_sql(statement)[0].stmt
    if type(stmt).__name__ != "IndexStmt" or not stmt.concurrent or not stmt.idxname:
        return
    schema = stmt.relation.schemaname or "public"
    cur.execute(
        "select format('%%I.%%I', n.nspname, c.relname) from pg_catalog.pg_class c"
        " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        " join pg_catalog.pg_index i on i.indexrelid = c.oid"
        " where n.nspname = %s and c.relname = %s and not i.indisvalid",
        [schema, stmt.idxname],
    )
    row = cur.fetchone()
    if row:
        cur.execute(f"drop index concurrently if exists {row[0]}")


def _run_outside_transaction(sqls: list[str]) -> None:
    """Commit the work so far, run each statement of ``sqls`` in autocommit under the runner's
    timeouts (session settings: autocommit has no transaction to scope them), then let Alembic
    open the next transaction."""
    from alembic import op

    from .migration_lint import runner_settings

    with op.get_context().autocommit_block():
        raw = repeatable._raw(op.get_bind())
        with raw.cursor() as cur:
            for name, value in runner_settings().items():
                cur.execute(f"select pg_catalog.set_config('{name}', %s, false)", [value])
            for sql in sqls:
                for statement in _statements(sql):
                    _drop_invalid_index(cur, statement)
                    cur.execute(statement)


def upgrade_step(conn, module_globals: dict) -> None:
    """Alembic upgrade() body shared by every revision: its versioned DDL."""
    ups = [_schema_sql(path)[0] for path in module_globals.get("SCHEMA", {})]
    if not in_transaction(module_globals):
        _run_outside_transaction(ups)
        return
    for up in ups:
        _execute(conn, up)


def downgrade_step(conn, module_globals: dict) -> None:
    """Alembic downgrade() body shared by every revision: the replaceable objects go first (none
    is vouched for below head), then the versioned DDL's down sections, last file first."""
    drop_replaceables(conn, legacy=module_globals["revision"] < LAYOUT_REVISION)
    downs = [_schema_sql(path)[1] for path in reversed(list(module_globals.get("SCHEMA", {})))]
    if not in_transaction(module_globals):
        _run_outside_transaction(downs)
        return
    for down in downs:
        _execute(conn, down)


def rewrite_values(conn, table: str, key: str, columns: tuple[str, ...], rewrite) -> int:
    """A revision's data step: every non-null value of ``columns`` of ``table`` replaced by
    ``rewrite(value)`` where that differs, one short update per row (``key`` names it). For what
    SQL cannot compute, such as sealing a secret under a key the database never holds. Returns
    the rows changed."""
    from psycopg import sql

    raw = repeatable._raw(conn)
    schema, name = table.split(".")
    cols = [sql.Identifier(c) for c in columns]
    rows = raw.execute(
        sql.SQL("select {key}, {cols} from {table} order by 1").format(
            key=sql.Identifier(key), cols=sql.SQL(", ").join(cols), table=sql.Identifier(schema, name)
        )
    ).fetchall()
    changed = 0
    for row_key, *values in rows:
        new = [None if v is None else rewrite(v) for v in values]
        if new != values:
            raw.execute(
                sql.SQL("update {table} set {sets} where {key} = %s").format(
                    table=sql.Identifier(schema, name),
                    sets=sql.SQL(", ").join(sql.SQL("{} = %s").format(c) for c in cols),
                    key=sql.Identifier(key),
                ),
                [*new, row_key],
            )
            changed += 1
    return changed


# --------------------------------------------------------------------------- authoring


def pending(chain: list[Revision]) -> dict[str, str]:
    """Versioned files no revision applies yet: db/ path -> sha256, in manifest order."""
    applied = {p for r in chain for p in r.schema}
    schema = {}
    for path in manifest_files():
        full = DB_DIR / path
        if not full.exists():
            raise MigrationError(f"db/manifest.txt names db/{path}, which does not exist")
        if not is_replaceable(path) and path not in applied:
            text = full.read_text()
            split_up_down(text, path)
            schema[path] = sha256(text)
    return schema


_TEMPLATE = """\"\"\"{message}

Revision ID: {revision}
Revises: {down}
Generated by `hotelcore migrations new`; edit the message, not SCHEMA.
\"\"\"

from alembic import op

from pyapi.migrate import downgrade_step, upgrade_step

revision = "{revision}"
down_revision = {down_repr}
branch_labels = None
depends_on = None
{transaction}
# Versioned DDL first applied here: db/ path -> sha256 (frozen). The replaceable objects of
# db/functions, db/triggers and db/views are not carried by revisions (pyapi/repeatable.py).
SCHEMA = {schema}


def upgrade() -> None:
    upgrade_step(op.get_bind(), globals())


def downgrade() -> None:
    downgrade_step(op.get_bind(), globals())
"""


def _slug(message: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "revision"


def _dict_literal(d: dict[str, str]) -> str:
    if not d:
        return "{}"
    body = "".join(f'    "{k}": "{v}",\n' for k, v in d.items())
    return "{\n" + body + "}"


_NO_TRANSACTION = """
# Applied outside a transaction, statement by statement (CREATE INDEX CONCURRENTLY, ... USING
# INDEX): every statement must be safe to run again after a failure part way (IF NOT EXISTS).
TRANSACTION = False
"""


def new_revision(message: str, amend: bool = False, transaction: bool = True) -> Path | None:
    """Write a revision for the versioned files no revision applies yet (or rewrite the head
    revision with ``amend``, which a released revision refuses)."""
    chain = revisions()
    if amend:
        if not chain:
            raise MigrationError("there is no revision to amend")
        head_rev = chain[-1]
        if head_rev.revision in released():
            raise MigrationError(
                f"revision {head_rev.revision} is released: it cannot be amended; add a new revision"
            )
        rev_id, down = head_rev.revision, head_rev.down_revision
        transaction = transaction and head_rev.transaction
        if not message:
            doc = _load_module(head_rev.path).__doc__ or ""
            message = doc.strip().splitlines()[0] if doc.strip() else "revision"
        head_rev.path.unlink()
        chain = chain[:-1]
    else:
        rev_id = f"{len(chain) + 1:04d}"
        down = chain[-1].revision if chain else None
    schema = pending(chain)
    if not schema and not amend:
        return None
    out = VERSIONS_DIR / f"{rev_id}_{_slug(message)}.py"
    out.write_text(
        _TEMPLATE.format(
            message=message,
            revision=rev_id,
            down=down or "<base>",
            down_repr=f'"{down}"' if down else "None",
            schema=_dict_literal(schema),
            transaction="" if transaction else _NO_TRANSACTION,
        )
    )
    return out


# --------------------------------------------------------------------------- released revisions

_RELEASED_HEADER = """\
# Released revisions: immutable. One line per file: revision, path, sha256 of the file as released
# (the revision module and each versioned db/ file it applies). Written by
# `hotelcore migrations release`; checked by `hotelcore migrations check` and the tests.
"""


def released(path: Path | None = None) -> dict[str, dict[str, str]]:
    """revision -> {project path -> sha256} from migrations/released."""
    path = path or RELEASED
    out: dict[str, dict[str, str]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            rev_id, name, digest = line.split()
            out.setdefault(rev_id, {})[name] = digest
    return out


def _release_entries(rev: Revision) -> dict[str, str]:
    root = config.PROJECT_ROOT
    entries = {str(rev.path.relative_to(root)): sha256(rev.path.read_text())}
    for path in rev.schema:
        entries[f"db/{path}"] = sha256((DB_DIR / path).read_text())
    return entries


def release(target: str | None = None) -> list[str]:
    """Mark every revision up to ``target`` (default: head) released; the revisions added."""
    chain = revisions()
    if not chain:
        raise MigrationError("there is no revision to release")
    ids = [r.revision for r in chain]
    target = target or ids[-1]
    if target not in ids:
        raise MigrationError(f"unknown revision {target}")
    problems = released_problems()
    if problems:
        raise MigrationError("; ".join(problems))
    done = released()
    added = []
    lines = []
    for rev in chain[: ids.index(target) + 1]:
        if rev.revision in done:
            continue
        for name, digest in _release_entries(rev).items():
            lines.append(f"{rev.revision} {name} {digest}\n")
        added.append(rev.revision)
    if added:
        text = RELEASED.read_text() if RELEASED.exists() else _RELEASED_HEADER
        RELEASED.write_text(text + "".join(lines))
    return added


def released_problems(path: Path | None = None) -> list[str]:
    """Released revisions whose files changed or vanished, or that were released out of order."""
    root = config.PROJECT_ROOT
    chain = revisions()
    ids = [r.revision for r in chain]
    done = released(path)
    problems = []
    for rev_id, files in done.items():
        if rev_id not in ids:
            problems.append(f"released revision {rev_id} is gone from migrations/versions")
            continue
        rev = chain[ids.index(rev_id)]
        now = _release_entries(rev)
        for name, digest in files.items():
            full = root / name
            if not full.exists():
                problems.append(f"{name} of released revision {rev_id} is gone")
            elif sha256(full.read_text()) != digest:
                problems.append(
                    f"{name} of released revision {rev_id} was edited: add a new revision instead"
                )
        for name in set(now) - set(files):
            problems.append(f"released revision {rev_id} now applies {name}, which it did not")
    released_ids = [i for i in ids if i in done]
    if released_ids != ids[: len(released_ids)]:
        problems.append("released revisions must be a prefix of the chain (release in order)")
    return problems


def drift() -> list[str]:
    """What is not as it must be (empty when all is migrated): versioned files edited after their
    revision or applied by none, released revisions changed, replaceable files unparsable."""
    chain = revisions()
    problems = []
    recorded = {p: d for r in chain for p, d in r.schema.items()}
    for path, digest in recorded.items():
        full = DB_DIR / path
        if not full.exists():
            problems.append(f"db/{path} was applied by a revision but is gone")
        elif sha256(full.read_text()) != digest:
            problems.append(f"db/{path} was edited after its revision; add a new schema file instead")
    problems.extend(f"db/{p} is not applied by any revision yet" for p in pending(chain))
    problems.extend(released_problems())
    try:
        repeatable.parse(replaceable_sources())
    except repeatable.ReplaceableError as exc:
        problems.append(str(exc))
    return problems


# --------------------------------------------------------------------------- running alembic


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config(str(config.PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["hotelcore_url"] = url
    return cfg


# What a migration may lose to a booking load: a deadlock with a booking's row locks, or its own
# lock_timeout (pyapi/migration_lint.py). The whole migration rolled back; it is run again.
RETRYABLE_STATES = frozenset({"40P01", "55P03", "40001"})


def _retrying(fn, attempts: int | None = None) -> None:
    import os
    import time

    attempts = attempts or int(os.environ.get("HOTELCORE_MIGRATION_ATTEMPTS", "20"))
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
            if state not in RETRYABLE_STATES or attempt == attempts:
                raise
            time.sleep(min(0.1 * 2**attempt, 2.0))


def upgrade(url: str, target: str = "head") -> None:
    """Upgrade to ``target`` in one transaction, run again when it loses a lock race (deadlock,
    lock timeout) against the live load; the load's own transactions are retried by its clients."""
    from alembic import command

    _retrying(lambda: command.upgrade(alembic_config(url), target))


def downgrade(url: str, target: str = "base") -> None:
    from alembic import command

    _retrying(lambda: command.downgrade(alembic_config(url), target))


def current(url: str) -> str | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("select to_regclass('public.alembic_version') is not null").fetchone()[0]
        if not exists:
            return None
        row = conn.execute("select version_num from public.alembic_version").fetchone()
        return row[0] if row else None
