"""Replaceable objects: the functions, triggers and views of ``db/functions``, ``db/triggers`` and
``db/views``, kept object by object (Flyway's repeatable migrations, per object as alembic_utils'
replaceable entities).

Each file is split into statements by PostgreSQL's own parser (``pglast``, libpg_query). Every
``CREATE FUNCTION | PROCEDURE | VIEW | TRIGGER`` is an object; a ``COMMENT ON`` or ``GRANT`` that
names an object belongs to it (its text counts in the object's checksum). Other statements (the
file-wide passes: ownership and grants, the error registry's rows, the login event trigger) are
*scripts*, one per run of consecutive loose statements in a file.

After the versioned revisions, :func:`sync` compares each object's checksum with the one recorded
in ``public.hotelcore_replaceable`` and

* drops the recorded objects that no file defines any more;
* replaces each object whose text changed, in place (``CREATE OR REPLACE``): its oid, its grants
  and everything that depends on it stay; a trigger on a table is replaced only when its own
  statement changed, so a new trigger function body never touches the table;
* when PostgreSQL refuses the replacement (a new return type, a view losing a column, a function
  turned procedure) drops that object with CASCADE, creates it again, and re-applies every tracked
  object the cascade removed;
* creates what is missing;
* runs a script when its text changed, or after an object was created anew (a new object needs
  the file-wide owner and grant passes, which skip what is already right);
* takes EXECUTE from PUBLIC on every new function (PostgreSQL grants it by default).

Unchanged objects are not touched: no catalog row rewritten, no lock taken.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import pglast
import pglast.parser
from pglast.stream import RawStream

KINDS = ("functions", "triggers", "views")
SCHEMAS = ("api", "internal", "report")
TABLE = "public.hotelcore_replaceable"

# SQLSTATEs of a replacement PostgreSQL refuses: invalid_function_definition (return type,
# parameter names or defaults), invalid_table_definition (view columns), wrong_object_type.
_NOT_REPLACEABLE = frozenset({"42P13", "42P16", "42809"})

_TYPE_ALIASES = {
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "character varying": "varchar",
    "bool": "boolean",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "float8": "double precision",
    "decimal": "numeric",
    "char": "character",
    "bpchar": "character",
    "float4": "real",
}


class ReplaceableError(RuntimeError):
    pass


@dataclass
class Entity:
    key: str  # 'function api.f(integer, text)', 'view report.x', 'trigger t on core.x', 'script …'
    kind: str  # function | view | trigger | script
    file: str
    statements: list[str] = field(default_factory=list)
    drop: str | None = None  # how to drop it (scripts: None)
    lookup: tuple[str, tuple] | None = None  # query telling whether it exists
    constraint: bool = False  # a constraint trigger (no CREATE OR REPLACE)
    data: bool = False  # a script of rows only (INSERT, UPDATE, DELETE): run when its text changes

    @property
    def checksum(self) -> str:
        """sha256 of the CREATE statement, ':', sha256 of the statements attached to it (a changed
        comment or grant alone is applied without replacing the object)."""

        def digest(parts: list[str]) -> str:
            return hashlib.sha256("\n;\n".join(parts).encode()).hexdigest()

        if self.kind == "script":
            return digest(self.statements)
        return digest(self.statements[:1]) + ":" + digest(self.statements[1:])


# --------------------------------------------------------------------------- parsing


def _name(nodes) -> str:
    return ".".join(n.sval for n in nodes)


def _type(node) -> str:
    """An argument type as PostgreSQL identifies a function by it: no type modifier, one name per
    type (``timestamp with time zone`` and ``timestamptz`` alike)."""
    text = RawStream()(node).strip()
    arr = ""
    while text.endswith("[]"):
        text, arr = text[:-2], arr + "[]"
    text = re.sub(r"\s*\([^)]*\)", "", text).strip()
    return _TYPE_ALIASES.get(text, text) + arr


_INPUT_MODES = {"i", "b", "v", "d"}  # in, inout, variadic, default (= in)


def _function_key(name: str, types: list[str]) -> str:
    return f"{name}({', '.join(types)})"


def _strip_leading_comments(sql: str) -> str:
    return re.sub(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", "", sql, flags=re.S)


def _relation(rv) -> str:
    if not rv.schemaname:
        raise ReplaceableError(f"{rv.relname}: name the schema of every replaceable object")
    return f"{rv.schemaname}.{rv.relname}"


def parse_file(path: str, text: str, by_key: dict[str, Entity] | None = None) -> list[Entity]:
    """The objects and scripts of one file, in file order. ``by_key``: the objects of the files
    before it (a COMMENT or GRANT may name one of them; it then goes with that object)."""
    out: list[Entity] = []
    by_key = by_key if by_key is not None else {}
    script: Entity | None = None
    try:
        statements = pglast.split(text, with_parser=True)
    except pglast.parser.ParseError as exc:
        raise ReplaceableError(f"db/{path}: {exc}") from exc
    for raw in statements:
        sql = _strip_leading_comments(raw).strip()
        if not sql:
            continue
        stmt = pglast.parse_sql(sql)[0].stmt
        kind = type(stmt).__name__
        owner: Entity | None = None
        if kind == "CreateFunctionStmt":
            name = _name(stmt.funcname)
            types = [_type(p.argType) for p in (stmt.parameters or ()) if p.mode.value in _INPUT_MODES]
            sig = _function_key(name, types)
            word = "procedure" if stmt.is_procedure else "function"
            owner = Entity(
                key=f"function {sig}",
                kind="function",
                file=path,
                drop=f"drop {word} if exists {sig} cascade",
                lookup=("select pg_catalog.to_regprocedure(%s) is not null", (sig,)),
            )
        elif kind == "ViewStmt":
            name = _relation(stmt.view)
            owner = Entity(
                key=f"view {name}",
                kind="view",
                file=path,
                drop=f"drop view if exists {name} cascade",
                lookup=("select pg_catalog.to_regclass(%s) is not null", (name,)),
            )
        elif kind == "CreateTrigStmt":
            table = _relation(stmt.relation)
            owner = Entity(
                key=f"trigger {stmt.trigname} on {table}",
                kind="trigger",
                file=path,
                drop=f"drop trigger if exists {stmt.trigname} on {table}",
                lookup=(
                    "select exists (select 1 from pg_catalog.pg_trigger"
                    " where tgrelid = pg_catalog.to_regclass(%s) and tgname = %s)",
                    (table, stmt.trigname),
                ),
                constraint=bool(stmt.isconstraint),
            )
        if owner is not None:
            if owner.key in by_key:
                raise ReplaceableError(
                    f"db/{path}: {owner.key} is defined twice (db/{by_key[owner.key].file})"
                )
            owner.statements.append(sql)
            by_key[owner.key] = owner
            out.append(owner)
            script = None
            continue
        target = _attached_to(stmt)
        if target is not None:
            entity = by_key.get(target) or _match_overload(target, by_key)
            if entity is not None:
                entity.statements.append(sql)
                continue
            # an object of versioned DDL (core.hotel_scope()): a script statement
        if script is None:
            number = sum(e.kind == "script" for e in out) + 1
            script = Entity(key=f"script {path}#{number}", kind="script", file=path, data=True)
            out.append(script)
        script.statements.append(sql)
        script.data = script.data and kind in ("InsertStmt", "UpdateStmt", "DeleteStmt")
    return out


def _attached_to(stmt) -> str | None:
    """The key of the object a COMMENT ON or GRANT/REVOKE names, if it is one object we track."""
    kind = type(stmt).__name__
    objtype = getattr(stmt, "objtype", None)
    objtype = getattr(objtype, "name", str(objtype))
    if kind == "CommentStmt":
        obj = stmt.object
        if objtype in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE"):
            return "function " + _function_key(_name(obj.objname), [_type(a) for a in obj.objargs or ()])
        if objtype == "OBJECT_VIEW":
            return "view " + _name(obj)
        if objtype == "OBJECT_COLUMN":
            return "view " + _name(obj[:-1])
        if objtype == "OBJECT_TRIGGER":
            return f"trigger {obj[-1].sval} on {_name(obj[:-1])}"
        return None
    if (
        kind == "GrantStmt"
        and len(stmt.objects or ()) == 1
        and getattr(stmt.targtype, "name", "") == "ACL_TARGET_OBJECT"
    ):
        obj = stmt.objects[0]
        if objtype in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE"):
            return "function " + _function_key(_name(obj.objname), [_type(a) for a in obj.objargs or ()])
        if objtype == "OBJECT_TABLE" and obj.schemaname:
            return "view " + _relation(obj)
    return None


def _match_overload(target: str, by_key: dict[str, Entity]) -> Entity | None:
    """A function named without its argument types (COMMENT ON FUNCTION f): its only overload."""
    if not target.endswith("()"):
        return None
    prefix = target[:-2] + "("
    found = [e for k, e in by_key.items() if k.startswith(prefix)]
    return found[0] if len(found) == 1 else None


def parse(files: dict[str, str]) -> list[Entity]:
    """Every replaceable object and script of ``files`` (db/ path -> text, apply order)."""
    out: list[Entity] = []
    by_key: dict[str, Entity] = {}
    for path, text in files.items():
        out.extend(parse_file(path, text, by_key))
    return out


# --------------------------------------------------------------------------- applying

_CREATE = re.compile(r"\Acreate\s+(?!or\s+replace\b)", re.I)


def _or_replace(sql: str) -> str:
    return _CREATE.sub("create or replace ", sql, count=1)


class _Db:
    def __init__(self, raw) -> None:
        self.raw = raw

    def run(self, sql: str, params=None):
        with self.raw.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def one(self, sql: str, params=None):
        rows = self.run(sql, params)
        return rows[0][0] if rows else None

    def exists(self, entity: Entity) -> bool:
        if entity.lookup is None:
            return True
        return bool(self.one(*entity.lookup))


def _raw(conn):
    """The psycopg connection under an SQLAlchemy one (Alembic's), or the connection itself."""
    return getattr(getattr(conn, "connection", None), "dbapi_connection", None) or conn


def has_table(conn) -> bool:
    return bool(_Db(_raw(conn)).one("select pg_catalog.to_regclass(%s) is not null", (TABLE,)))


def recorded(conn) -> dict[str, tuple[str, str | None]]:
    """key -> (checksum, drop statement) of the objects applied, in apply order."""
    db = _Db(_raw(conn))
    if not has_table(conn):
        return {}
    rows = db.run(f"select key, checksum, drop_sql from {TABLE} order by position")
    return {k: (c, d) for k, c, d in rows or ()}


def drop_all(conn) -> None:
    """Drop every recorded object (last applied first) and the bookkeeping table."""
    db = _Db(_raw(conn))
    for _key, (_sum, drop) in reversed(list(recorded(conn).items())):
        if drop:
            db.run(drop)
    db.run(f"drop table if exists {TABLE}")


@dataclass
class SyncReport:
    replaced: list[str] = field(default_factory=list)  # in place
    recreated: list[str] = field(default_factory=list)  # dropped (cascade) and created again
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    annotated: list[str] = field(default_factory=list)  # comments or grants only
    scripts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.replaced or self.recreated or self.created or self.dropped or self.annotated or self.scripts
        )


def sync(conn, entities: list[Entity]) -> SyncReport:
    raw = _raw(conn)
    db = _Db(raw)
    report = SyncReport()
    db.run(
        f"create table if not exists {TABLE} (key text primary key, kind text not null,"
        " file text not null, position integer not null, checksum text not null, drop_sql text)"
    )
    before = recorded(conn)
    wanted = {e.key for e in entities}

    # objects no file defines any more, last applied first
    for key, (_sum, drop) in reversed(list(before.items())):
        if key not in wanted:
            if drop:
                db.run(drop)
            db.run(f"delete from {TABLE} where key = %s", (key,))
            report.dropped.append(key)

    anew = False  # an object got a new oid: the file-wide passes run again
    done: list[Entity] = []

    def record(e: Entity, position: int) -> None:
        db.run(
            f"insert into {TABLE} (key, kind, file, position, checksum, drop_sql) values (%s, %s, %s, %s, %s, %s)"
            " on conflict (key) do update set kind = excluded.kind, file = excluded.file,"
            " position = excluded.position, checksum = excluded.checksum, drop_sql = excluded.drop_sql"
            f" where ({TABLE}.position, {TABLE}.checksum, {TABLE}.drop_sql, {TABLE}.file)"
            " is distinct from (excluded.position, excluded.checksum, excluded.drop_sql, excluded.file)",
            (e.key, e.kind, e.file, position, e.checksum, e.drop),
        )

    def create(e: Entity) -> None:
        for sql in e.statements:
            db.run(sql)

    def apply(e: Entity) -> bool:
        """Create or replace ``e``; True when it got a new oid."""
        if e.kind == "script":
            create(e)
            report.scripts.append(e.key)
            return False
        present = db.exists(e)
        if not present:
            create(e)
            report.created.append(e.key)
            return True
        if e.kind == "trigger":
            if e.constraint:  # no CREATE OR REPLACE for a constraint trigger
                db.run(e.drop)
                create(e)
                report.recreated.append(e.key)
                return True
            db.run(_or_replace(e.statements[0]))
            for sql in e.statements[1:]:
                db.run(sql)
            report.replaced.append(e.key)
            return False
        db.run("savepoint hotelcore_replace")
        try:
            db.run(_or_replace(e.statements[0]))
        except Exception as exc:
            if getattr(exc, "sqlstate", None) not in _NOT_REPLACEABLE:
                raise
            db.run("rollback to savepoint hotelcore_replace")
            db.run(e.drop)
            create(e)
            report.recreated.append(e.key)
            return True
        db.run("release savepoint hotelcore_replace")
        for sql in e.statements[1:]:
            db.run(sql)
        report.replaced.append(e.key)
        return False

    repaired = False
    for position, e in enumerate(entities):
        old = before.get(e.key)
        changed = old is None or old[0] != e.checksum
        definition_changed = old is None or old[0].split(":")[0] != e.checksum.split(":")[0]
        if e.kind == "script":
            if changed or (anew and not e.data):
                apply(e)
        elif definition_changed or not db.exists(e):
            new_oid = apply(e)
            anew = anew or new_oid
            if new_oid and e.key in report.recreated:
                # the cascade may have removed objects applied before this one
                for prev in done:
                    if prev.kind != "script" and not db.exists(prev):
                        apply(prev)
                        repaired = True
        elif changed:  # only its comments or grants
            for sql in e.statements[1:]:
                db.run(sql)
            report.annotated.append(e.key)
        record(e, position)
        done.append(e)
    if repaired:  # objects before a pass were created again: the passes run once more
        for e in entities:
            if e.kind == "script" and not e.data:
                apply(e)

    if anew:
        # PostgreSQL lets PUBLIC execute a new function; hotelcore grants them role by role
        for (sig,) in (
            db.run(
                "select p.oid::regprocedure::text from pg_catalog.pg_proc p"
                " join pg_catalog.pg_namespace n on n.oid = p.pronamespace"
                " where n.nspname = any(%s) and (p.proacl is null or exists"
                " (select 1 from pg_catalog.aclexplode(p.proacl) a where a.grantee = 0))",
                (list(SCHEMAS),),
            )
            or ()
        ):
            db.run(f"revoke all on function {sig} from public")
    return report
