"""Citus co-location rules, checked against the catalog (hotelcore does not run Citus here: no
registry this project reaches ships it, so the schema is kept ready for it and checked).

Every table of ``core`` is one of three kinds:

* **hotel-owned** (has a ``hotel_id`` column): distributed by ``hotel_id``, all co-located, so a
  hotel's rows live on one node and every transaction of one hotel stays on it;
* **in a declared group** (:data:`GROUPS`): distributed by the group's column, co-located with
  the group's other tables and not with the hotels (the event log, by its aggregate: an
  aggregate's events are ordered on one node, and the log's one order spans the hotels and the
  chain-wide aggregates);
* **reference** (chain-wide: hotels, customers, points, ranks, currencies, error codes, ...):
  copied to every node.

A distributed table's *key* is ``hotel_id``, or its group's column. The rules a distributed
PostgreSQL (Citus) imposes on that layout, one function each:

1. ``distribution-key-type``: the tables sharing a key have one type for it (co-located tables
   need equal distribution column types).
2. ``unique-includes-key``: every primary key, unique constraint and unique index of a
   distributed table includes its key.
3. ``exclusion-includes-key``: every exclusion constraint of a distributed table compares its
   key with ``=``.
4. ``fk-between-distributed-includes-key``: every foreign key between two distributed tables
   joins two tables of the same key and maps the key to the key.
5. ``reference-references-reference``: a reference table never references a distributed one.
6. ``classified``: a table without ``hotel_id`` is a declared reference table or in a group
   (its data without a key could not be distributed), and a group's table has the group's
   column.
7. ``distribution-key-not-null``: the key of a distributed table is NOT NULL (a row must have a
   shard).

:data:`REFERENCE_TABLES` and :data:`GROUPS` are the declared lists; ``docs/scale-out.md`` and
its script follow them.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

KEY = "hotel_id"

# Chain-wide tables: the same rows for every hotel, read by all of them (copied to every node).
# A table listed here is a reference table even when it has a hotel_id column: the rights tables
# (which hotels a key or login may see: read by every request, whatever the hotel) and the audit
# trail (its customer rows belong to no hotel, and a distribution column cannot be null).
REFERENCE_TABLES = frozenset(
    {
        "hotels",
        "currencies",
        "error_codes",
        "clock",
        # guests and loyalty: a member books at every hotel of the chain
        "customers",
        "customer_merges",
        "points_accounts",
        "points_ledger",
        "points_earn_rates",
        "membership_ranks",
        "rank_history",
        "loyalty_settings",
        "notifications",
        # rights and requests
        "api_keys",
        "api_key_hotels",
        "login_hotels",
        "idempotency_keys",
        "request_signing_keys",
        "audit_log",
        # the event log's registry and configuration (consumers, webhook endpoints, settings)
        "event_types",
        "event_consumers",
        "event_settings",
        "webhook_endpoints",
        # conflicts between the systems: the customer master's version history, its conflicts and the
        # rules' settings
        "customer_changes",
        "customer_conflicts",
        "conflict_settings",
        "conflict_escalation_amounts",
        # external-PMS hotels: the mirror's freshness policy (the seed's TTLs, one row per kind)
        "pms_freshness",
        # chain-wide lookups of a sharded table's chain-wide key (kept by triggers in the same
        # transaction, their primary keys enforce the key across the chain): a confirmation
        # code's hotel, a vendor's property's hotel
        "confirmation_codes",
        "pms_property_hotels",
    }
)


# Tables distributed by another column than hotel_id: column -> its tables, co-located with one
# another. The event log by aggregate: writing an event locks its aggregate's stream row, and a
# consumer's cursor reads the one log in commit order across hotels and chain-wide aggregates
# (docs/scale-out.md). A table listed here is in its group even when it has a hotel_id column.
GROUPS: dict[str, frozenset[str]] = {
    "aggregate_id": frozenset({"events", "event_streams", "webhook_deliveries", "webhook_attempts"}),
}


@dataclass(frozen=True)
class Violation:
    rule: str
    table: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.table}: {self.detail}"


def tables(conn: psycopg.Connection, schema: str, column: str = KEY) -> dict[str, str | None]:
    """table -> type of its ``column`` (None: it has none), ordinary and partitioned tables."""
    rows = conn.execute(
        """
        select c.relname, format_type(a.atttypid, a.atttypmod)
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_attribute a on a.attrelid = c.oid and a.attname = %s and not a.attisdropped
        where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition
        """,
        [column, schema],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


Groups = dict[str, frozenset[str]] | dict[str, set[str]]


def keys(
    conn: psycopg.Connection,
    schema: str = "core",
    reference: frozenset[str] | set[str] = REFERENCE_TABLES,
    groups: Groups = GROUPS,
) -> dict[str, tuple[str, str | None]]:
    """Each distributed table -> (its key column, the column's type; None when it lacks it)."""
    found = tables(conn, schema)
    out: dict[str, tuple[str, str | None]] = {}
    for column, members in groups.items():
        typed = tables(conn, schema, column)
        out |= {t: (column, typed[t]) for t in members if t in typed}
    out |= {t: (KEY, ty) for t, ty in found.items() if ty is not None and t not in reference and t not in out}
    return out


def check(
    conn: psycopg.Connection,
    schema: str = "core",
    reference: frozenset[str] | set[str] = REFERENCE_TABLES,
    groups: Groups = GROUPS,
) -> list[Violation]:
    found = tables(conn, schema)
    distributed = keys(conn, schema, reference, groups)
    out: list[Violation] = []

    # 7. the distribution column is never null
    nullable = {
        (t, col)
        for t, col in conn.execute(
            """
            select c.relname, a.attname from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = %s and c.relkind in ('r', 'p') and not a.attnotnull
            """,
            [schema],
        ).fetchall()
    }
    for table, (column, typ) in sorted(distributed.items()):
        if typ is not None and (table, column) in nullable:
            out.append(Violation("distribution-key-not-null", table, f"{column} may be null"))

    # 1. one distribution column type per key
    for column in {c for c, _ in distributed.values()}:
        sharing = {t: ty for t, (c, ty) in distributed.items() if c == column and ty is not None}
        types = set(sharing.values())
        if len(types) > 1:
            common = max(types, key=lambda ty: sum(1 for t in sharing if sharing[t] == ty))
            for t in sorted(sharing):
                if sharing[t] != common:
                    out.append(
                        Violation(
                            "distribution-key-type", t, f"{column} is {sharing[t]}, the others {common}"
                        )
                    )

    # 6. a table without the key must be a declared reference table; a group's table has its column
    for t in sorted(set(found) - set(distributed)):
        if t not in reference:
            out.append(Violation("classified", t, f"no {KEY} and not a declared reference table"))
    for t, (column, typ) in sorted(distributed.items()):
        if typ is None:
            out.append(Violation("classified", t, f"in the {column} group without a {column} column"))

    # 2. unique constraints and unique indexes (primary keys included) include the key
    for table, index, columns in conn.execute(
        """
        select c.relname, i.relname,
               array(select a.attname from unnest(x.indkey) k join pg_attribute a
                     on a.attrelid = x.indrelid and a.attnum = k)
        from pg_index x
        join pg_class c on c.oid = x.indrelid
        join pg_class i on i.oid = x.indexrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and x.indisunique
        """,
        [schema],
    ).fetchall():
        if table in distributed and distributed[table][0] not in columns:
            out.append(
                Violation("unique-includes-key", table, f"{index} ({', '.join(columns) or 'expression'})")
            )

    # 3. exclusion constraints compare the key with =
    for table, name, pairs in conn.execute(
        """
        select c.relname, k.conname,
               array(select a.attname || ' ' || o.oprname
                     from unnest(k.conkey, k.conexclop) as e(attnum, op)
                     join pg_attribute a on a.attrelid = k.conrelid and a.attnum = e.attnum
                     join pg_operator o on o.oid = e.op)
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and k.contype = 'x'
        """,
        [schema],
    ).fetchall():
        if table in distributed and f"{distributed[table][0]} =" not in pairs:
            out.append(Violation("exclusion-includes-key", table, f"{name} ({', '.join(pairs)})"))

    # 4 and 5. foreign keys
    for table, name, target, target_schema, pairs in conn.execute(
        """
        select c.relname, k.conname, t.relname, tn.nspname,
               array(select a.attname || '=' || b.attname
                     from unnest(k.conkey, k.confkey) as e(src, dst)
                     join pg_attribute a on a.attrelid = k.conrelid and a.attnum = e.src
                     join pg_attribute b on b.attrelid = k.confrelid and b.attnum = e.dst)
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_class t on t.oid = k.confrelid
        join pg_namespace tn on tn.oid = t.relnamespace
        where n.nspname = %s and k.contype = 'f'
        """,
        [schema],
    ).fetchall():
        if target_schema != schema:
            continue
        if table in distributed and target in distributed:
            column, target_column = distributed[table][0], distributed[target][0]
            if column != target_column or f"{column}={column}" not in pairs:
                out.append(
                    Violation(
                        "fk-between-distributed-includes-key",
                        table,
                        f"{name} -> {target} ({', '.join(pairs)})",
                    )
                )
        if table not in distributed and target in distributed:
            out.append(
                Violation("reference-references-reference", table, f"{name} -> {target} ({', '.join(pairs)})")
            )
    return sorted(out, key=lambda v: (v.rule, v.table, v.detail))


def plan(
    conn: psycopg.Connection,
    schema: str = "core",
    reference: frozenset[str] | set[str] = REFERENCE_TABLES,
    groups: Groups = GROUPS,
) -> tuple[dict[str, list[str]], list[str]]:
    """({key column: its distributed tables}, reference tables) of the schema, for
    docs/scale-out.md's script; hotel_id first."""
    found = tables(conn, schema)
    distributed = keys(conn, schema, reference, groups)
    by_key: dict[str, list[str]] = {KEY: []}
    for t, (column, _) in sorted(distributed.items()):
        by_key.setdefault(column, []).append(t)
    return by_key, sorted(set(found) - set(distributed))


def _references(conn: psycopg.Connection, schema: str) -> dict[str, set[str]]:
    """table -> the tables of the schema its foreign keys point at (itself left out)."""
    out: dict[str, set[str]] = {}
    for table, target in conn.execute(
        """
        select c.relname, t.relname from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        join pg_class t on t.oid = k.confrelid join pg_namespace tn on tn.oid = t.relnamespace
        where k.contype = 'f' and n.nspname = %s and tn.nspname = %s and c.oid <> t.oid
        """,
        [schema, schema],
    ).fetchall():
        out.setdefault(table, set()).add(target)
    return out


def _in_dependency_order(names: list[str], refs: dict[str, set[str]]) -> list[str]:
    """Referenced tables before the tables that reference them (ties by name)."""
    left, done, order = set(names), set(), []
    while left:
        ready = sorted(t for t in left if not (refs.get(t, set()) & left))
        if not ready:  # a cycle (holds <-> waitlist_entries): one of its tables goes first
            ready = [min(t for t in left if t in _reachable(t, refs, left))]
        for t in ready:
            order.append(t)
            done.add(t)
            left.discard(t)
    return order


def _reachable(start: str, refs: dict[str, set[str]], within: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(refs.get(start, set()) & within)
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo.extend(refs.get(t, set()) & within)
    return seen


def script(conn: psycopg.Connection, schema: str = "core") -> str:
    """The SQL to run on a Citus coordinator after the migrations: reference tables first (the
    distributed ones reference them), then each key's tables (the hotel-owned ones first), each
    kind in foreign-key order, every table co-located with the first one of its key."""
    by_key, reference = plan(conn, schema)
    refs = _references(conn, schema)
    lines = ["-- reference tables: copied to every node"]
    lines += [
        f"select create_reference_table('{schema}.{t}');" for t in _in_dependency_order(reference, refs)
    ]
    for column, names in by_key.items():
        if column == KEY:
            lines.append("-- hotel-owned tables: sharded by hotel_id, all co-located")
        else:
            lines.append(f"-- sharded by {column}, co-located with one another (not with the hotels)")
        ordered = _in_dependency_order(names, refs)
        for t in ordered:
            colocate = "'none'" if t == ordered[0] else f"'{schema}.{ordered[0]}'"
            lines.append(
                f"select create_distributed_table('{schema}.{t}', '{column}', colocate_with => {colocate});"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m hotelcore_tools.citus URL: the script for docs/scale-out.md
    import sys

    from pyapi.server import get_server

    with psycopg.connect(sys.argv[1] if len(sys.argv) > 1 else get_server().url) as _conn:
        print(script(_conn), end="")
