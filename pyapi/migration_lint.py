"""Zero-downtime checks of the migrations' DDL with squawk (``squawk-cli`` from PyPI).

Every revision's versioned DDL (the up sections of the ``db/schema/`` files it first applies;
revisions carry nothing else, the replaceable objects are replaced one by one and take no table
lock unless a trigger's own statement changes) is linted as the runner executes it: the files of one revision concatenated in apply order,
inside one transaction, after the runner's own ``lock_timeout`` and ``statement_timeout``
(:func:`runner_settings`, set by ``migrations/env.py``). A table created earlier in the same
revision is new, so squawk does not ask for ``NOT VALID`` or concurrent indexes on it. A
revision declaring ``TRANSACTION = False`` is linted as run outside a transaction, statement by
statement after the same settings for the session: there ``CREATE INDEX CONCURRENTLY`` and
``ADD CONSTRAINT ... USING INDEX`` are the way to satisfy ``require-concurrent-index-creation``
and ``disallowed-unique-constraint``, and ``prefer-robust-stmts`` asks each statement to be
safe to run again; inside a transaction ``ban-concurrent-index-creation-in-transaction`` fires.

Rules: squawk's defaults (table rewrites under ACCESS EXCLUSIVE, constraints without
``NOT VALID``, non-concurrent indexes on existing tables, volatile defaults, NOT NULL on an
existing column, renames, type changes, ...), minus the style-only rules turned off in
``.squawk.toml`` (each with its reason there).

A finding that a deploy must accept is an exception, documented with its reason per revision in
``migrations/lint-exceptions.toml`` (a file beside the revisions, so ``hotelcore migrations new
--amend`` never loses it), or in ``LINT_EXCEPTIONS`` of a hand-written revision module
(``{"schema/x.sql": {"rule": "why"}}``). An exception that matches no finding is an error too,
so the list never outlives its reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import config
from . import migrate as mig

SQUAWK_CONFIG = config.PROJECT_ROOT / ".squawk.toml"
RELEASED_EXCEPTIONS = mig.MIGRATIONS_DIR / "lint-exceptions.toml"


def runner_settings() -> dict[str, str]:
    """What the migration runner sets for its transaction: a DDL statement that waits longer than
    ``lock_timeout`` for its lock fails (and the deploy is retried) instead of queueing every
    booking behind it; ``statement_timeout`` bounds a runaway statement."""
    return {
        "lock_timeout": os.environ.get("HOTELCORE_MIGRATION_LOCK_TIMEOUT", "3s"),
        "statement_timeout": os.environ.get("HOTELCORE_MIGRATION_STATEMENT_TIMEOUT", "30min"),
    }


def runner_preamble(transaction: bool = True) -> str:
    """The runner's settings as it sets them: for its transaction, or for the session of a
    revision applied outside a transaction."""
    scope = "local " if transaction else ""
    return "".join(f"set {scope}{k} = '{v}';\n" for k, v in runner_settings().items())


@dataclass(frozen=True)
class Finding:
    revision: str
    path: str  # db/ path, e.g. schema/reservation.sql
    line: int  # line in that file
    rule: str
    message: str

    def __str__(self) -> str:
        return f"revision {self.revision}: db/{self.path}:{self.line}: {self.rule}: {self.message}"


@dataclass
class Report:
    findings: list[Finding]  # not covered by an exception
    excepted: list[tuple[Finding, str]]  # with the documented reason
    stale: list[str]  # exceptions that matched nothing
    linted: int  # revisions linted

    @property
    def ok(self) -> bool:
        return not self.findings and not self.stale


def squawk_binary() -> str:
    candidate = Path(sys.executable).parent / "squawk"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("squawk")
    if not found:
        raise mig.MigrationError("squawk is not installed (pip install squawk-cli)")
    return found


def exceptions_of(rev: mig.Revision) -> dict[tuple[str, str], str]:
    """(path, rule) -> reason, from the revision module and the released revisions' file."""
    out: dict[tuple[str, str], str] = {}
    module = mig._load_module(rev.path)
    for path, rules in (getattr(module, "LINT_EXCEPTIONS", None) or {}).items():
        for rule, reason in rules.items():
            out[(path, rule)] = reason
    if RELEASED_EXCEPTIONS.exists():
        for entry in tomllib.loads(RELEASED_EXCEPTIONS.read_text()).get("exception", []):
            if entry.get("revision") == rev.revision:
                out[(entry["file"], entry["rule"])] = entry.get("reason", "")
    return out


def _unit(
    rev: mig.Revision, schema_sql: dict[str, str] | None = None
) -> tuple[str, list[tuple[int, str, int]]]:
    """The revision's DDL as the runner executes it, and (first line, path, line offset) per file."""
    preamble = runner_preamble(rev.transaction)
    text = preamble
    spans = []
    for path in rev.schema:
        full = schema_sql[path] if schema_sql is not None else (mig.DB_DIR / path).read_text()
        up, _ = mig.split_up_down(full, path)
        start = text.count("\n") + 1
        # the up section starts on the '-- migrate:up' line: lines before it in the file
        offset = full[: mig._UP.search(full).end()].count("\n")
        spans.append((start, path, offset))
        text += up if up.endswith("\n") else up + "\n"
    return text, spans


def lint_sql(
    units: dict[str, str], *, pg_version: str | None = None, outside: frozenset[str] | set[str] = frozenset()
) -> list[dict]:
    """Run squawk over named SQL texts; squawk's JSON findings with ``unit`` set to the name.
    Units named in ``outside`` run outside a transaction (``TRANSACTION = False``): squawk then
    lints each statement as committed on its own (concurrent index builds allowed, statements
    asked to be re-runnable); the others inside one."""
    found: list[dict] = []
    for in_tx in (True, False):
        group = {n: sql for n, sql in units.items() if (n not in outside) == in_tx}
        if group:
            found += _squawk(group, in_tx, pg_version)
    return found


def _squawk(units: dict[str, str], in_transaction: bool, pg_version: str | None) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="hotelcore-squawk-") as tmp:
        files = {}
        for name, sql in units.items():
            f = Path(tmp) / f"{name}.sql"
            f.write_text(sql)
            files[str(f)] = name
        cmd = [squawk_binary(), "--reporter", "json"]
        cmd.append("--assume-in-transaction" if in_transaction else "--no-assume-in-transaction")
        if SQUAWK_CONFIG.exists():
            cmd += ["--config", str(SQUAWK_CONFIG)]
        if pg_version:
            cmd += ["--pg-version", pg_version]
        done = subprocess.run(cmd + list(files), capture_output=True, text=True, timeout=120)
        if done.returncode not in (0, 1) or not done.stdout.strip().startswith("["):
            raise mig.MigrationError(f"squawk failed: {(done.stderr or done.stdout).strip()[:500]}")
        found = json.loads(done.stdout)
    for item in found:
        item["unit"] = files.get(item["file"]) or files.get(str(Path(item["file"]).resolve()))
    return found


def lint(revisions: list[mig.Revision] | None = None) -> Report:
    chain = revisions if revisions is not None else mig.revisions()
    units, spans_of = {}, {}
    for rev in chain:
        if rev.schema:
            units[rev.revision], spans_of[rev.revision] = _unit(rev)
    raw = lint_sql(units, outside={rev.revision for rev in chain if not rev.transaction})
    findings, excepted = [], []
    used: set[tuple[str, str, str]] = set()
    exceptions = {rev.revision: exceptions_of(rev) for rev in chain}
    for item in raw:
        rev_id = item["unit"]
        line = int(item["line"]) + 1  # squawk counts lines from 0
        span = max((s for s in spans_of[rev_id] if s[0] <= line), default=None, key=lambda s: s[0])
        if span is None:  # the runner's own preamble
            path, file_line = "(runner settings)", line
        else:
            path, file_line = span[1], line - span[0] + 1 + span[2]
        f = Finding(rev_id, path, file_line, item["rule_name"], item["message"])
        reason = exceptions[rev_id].get((path, f.rule))
        if reason:
            excepted.append((f, reason))
            used.add((rev_id, path, f.rule))
        else:
            findings.append(f)
    stale = [
        f"revision {rev_id}: exception {rule} for db/{path} matches no finding"
        for rev_id, ex in exceptions.items()
        for (path, rule) in ex
        if (rev_id, path, rule) not in used
    ]
    stale += [
        f"revision {rev_id}: exception {rule} for db/{path} has no reason"
        for rev_id, ex in exceptions.items()
        for (path, rule), reason in ex.items()
        if not reason.strip()
    ]
    return Report(findings, excepted, stale, len(units))
