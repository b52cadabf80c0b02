"""How Alembic revisions apply the SQL under ``db/``.

Two kinds of files, two rules (see README, "Migrations"):

* **Versioned DDL** (``db/schema/*.sql``): tables, types, constraints, indexes and the few
  functions a table itself depends on. Each file has a ``-- migrate:up`` and a
  ``-- migrate:down`` section; the revision that first applies it records its sha256, and a
  released file is never edited again (``tests/test_migrations.py`` fails if it is). A later
  change to a domain is a new file (``db/schema/<domain>--<slug>.sql``).
* **Replaceable objects** (``db/functions``, ``db/triggers``, ``db/views``): they live in the
  schemas ``api``, ``internal`` and ``report``, which hold nothing else. Each revision carries a
  manifest of every replaceable file with the revision whose frozen snapshot
  (``migrations/sql/<rev>/<path>``) to apply. Upgrading or downgrading to a revision drops
  those three schemas and rebuilds them from that revision's manifest, so a revision replays
  identically however the working files change later, and changing a function is one command:
  ``make revision m="why"``.

``db/manifest.txt`` lists every file under ``db/`` in the order it is applied.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from . import config

DB_DIR = config.PROJECT_ROOT / "db"
MANIFEST = DB_DIR / "manifest.txt"
MIGRATIONS_DIR = config.PROJECT_ROOT / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
SNAPSHOT_DIR = MIGRATIONS_DIR / "sql"

REPLACEABLE_KINDS = ("functions", "triggers", "views")
REPLACEABLE_SCHEMAS = ("api", "internal", "report")

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
    replaceable: dict[str, str] = field(default_factory=dict)


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
            replaceable=dict(getattr(mod, "REPLACEABLE", {})),
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


def _by_id(rev_id: str) -> Revision:
    for rev in revisions():
        if rev.revision == rev_id:
            return rev
    raise MigrationError(f"unknown revision {rev_id}")


def snapshot_path(rev_id: str, path: str) -> Path:
    return SNAPSHOT_DIR / rev_id / path


# --------------------------------------------------------------------------- applying


def _execute(conn, sql: str) -> None:
    """Run a multi-statement script on the raw psycopg connection (simple query protocol)."""
    if sql.strip():
        raw = conn.connection.dbapi_connection if hasattr(conn, "connection") else conn
        with raw.cursor() as cur:
            cur.execute(sql)


def drop_replaceables(conn) -> None:
    _execute(conn, "drop schema if exists " + ", ".join(REPLACEABLE_SCHEMAS) + " cascade;")


def build_replaceables(conn, manifest: dict[str, str]) -> None:
    if not manifest:
        return
    _execute(conn, "".join(f"create schema {s};\n" for s in REPLACEABLE_SCHEMAS))
    for path, rev_id in manifest.items():
        snap = snapshot_path(rev_id, path)
        if not snap.exists():
            raise MigrationError(f"snapshot {snap.relative_to(config.PROJECT_ROOT)} is missing")
        _execute(conn, snap.read_text())
    # Functions are executable by PUBLIC by default; hotelcore grants them role by role.
    _execute(
        conn, "revoke all on all functions in schema " + ", ".join(REPLACEABLE_SCHEMAS) + " from public;"
    )


def _schema_sql(path: str) -> tuple[str, str]:
    return split_up_down((DB_DIR / path).read_text(), path)


def upgrade_step(conn, module_globals: dict) -> None:
    """Alembic upgrade() body shared by every revision."""
    drop_replaceables(conn)
    for path in module_globals.get("SCHEMA", {}):
        up, _ = _schema_sql(path)
        _execute(conn, up)
    build_replaceables(conn, module_globals.get("REPLACEABLE", {}))


def downgrade_step(conn, module_globals: dict) -> None:
    """Alembic downgrade() body shared by every revision."""
    drop_replaceables(conn)
    for path in reversed(list(module_globals.get("SCHEMA", {}))):
        _, down = _schema_sql(path)
        _execute(conn, down)
    previous = module_globals.get("down_revision")
    if previous:
        build_replaceables(conn, _by_id(previous).replaceable)


# --------------------------------------------------------------------------- authoring


@dataclass
class Pending:
    schema: dict[str, str]
    replaceable: dict[str, str]
    changed: list[str]

    @property
    def empty(self) -> bool:
        return not self.changed


def pending(base: Revision | None, chain: list[Revision]) -> Pending:
    """What a new revision on top of ``base`` must carry for the working files."""
    applied = {p for r in chain for p in r.schema}
    files = manifest_files()
    schema = {}
    replaceable = {}
    changed = []
    for path in files:
        full = DB_DIR / path
        if not full.exists():
            raise MigrationError(f"db/manifest.txt names db/{path}, which does not exist")
        text = full.read_text()
        if is_replaceable(path):
            held = base.replaceable.get(path) if base else None
            if held and snapshot_path(held, path).read_text() == text:
                replaceable[path] = held
            else:
                replaceable[path] = "NEW"
                changed.append(path)
        elif path not in applied:
            split_up_down(text, path)
            schema[path] = sha256(text)
            changed.append(path)
    if base and set(base.replaceable) - set(replaceable):
        changed.extend(sorted(set(base.replaceable) - set(replaceable)))  # removed files
    return Pending(schema, replaceable, changed)


_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down}
Generated by `hotelcore migrations new`; edit the message, not the manifests.
"""

from alembic import op

from pyapi.migrate import downgrade_step, upgrade_step

revision = "{revision}"
down_revision = {down_repr}
branch_labels = None
depends_on = None

# Versioned DDL first applied here: db/ path -> sha256 (frozen once released).
SCHEMA = {schema}

# Every replaceable file after this revision, in apply order: db/ path -> revision holding
# its snapshot under migrations/sql/.
REPLACEABLE = {replaceable}


def upgrade() -> None:
    upgrade_step(op.get_bind(), globals())


def downgrade() -> None:
    downgrade_step(op.get_bind(), globals())
'''


def _slug(message: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "revision"


def _dict_literal(d: dict[str, str]) -> str:
    if not d:
        return "{}"
    body = "".join(f'    "{k}": "{v}",\n' for k, v in d.items())
    return "{\n" + body + "}"


def new_revision(message: str, amend: bool = False) -> Path | None:
    """Write a revision for the working files (or rewrite the head one with ``amend``)."""
    chain = revisions()
    if amend:
        if not chain:
            raise MigrationError("there is no revision to amend")
        head = chain[-1]
        base = chain[-2] if len(chain) > 1 else None
        rev_id, down = head.revision, head.down_revision
        if not message:
            doc = _load_module(head.path).__doc__ or ""
            message = doc.strip().splitlines()[0] if doc.strip() else "revision"
        head.path.unlink()
        shutil.rmtree(SNAPSHOT_DIR / rev_id, ignore_errors=True)
        chain = chain[:-1]
    else:
        base = chain[-1] if chain else None
        rev_id = f"{len(chain) + 1:04d}"
        down = base.revision if base else None
    todo = pending(base, chain)
    if todo.empty and not amend:
        return None
    replaceable = {}
    for path, held in todo.replaceable.items():
        if held == "NEW":
            target = snapshot_path(rev_id, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(DB_DIR / path, target)
            held = rev_id
        replaceable[path] = held
    out = VERSIONS_DIR / f"{rev_id}_{_slug(message)}.py"
    out.write_text(
        _TEMPLATE.format(
            message=message,
            revision=rev_id,
            down=down or "<base>",
            down_repr=f'"{down}"' if down else "None",
            schema=_dict_literal(todo.schema),
            replaceable=_dict_literal(replaceable),
        )
    )
    return out


def drift() -> list[str]:
    """Working files that head does not carry as they are (empty when all is migrated)."""
    chain = revisions()
    problems = []
    recorded = {p: d for r in chain for p, d in r.schema.items()}
    for path, digest in recorded.items():
        full = DB_DIR / path
        if not full.exists():
            problems.append(f"db/{path} was applied by a revision but is gone")
        elif sha256(full.read_text()) != digest:
            problems.append(f"db/{path} was edited after its revision; add a new schema file instead")
    head = chain[-1] if chain else None
    todo = pending(head, chain)
    problems.extend(f"db/{p} is not carried by any revision as it is now" for p in todo.changed)
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
