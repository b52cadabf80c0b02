"""Citus co-location rules, checked against the catalog (hotelcore does not run Citus here: no
registry this project reaches ships it, so the schema is kept ready for it and checked).

Every table of ``core`` is one of two kinds:

* **hotel-owned** (has a ``hotel_id`` column): distributed by ``hotel_id``, all co-located, so a
  hotel's rows live on one node and every transaction of one hotel stays on it;
* **reference** (chain-wide: hotels, customers, points, ranks, currencies, error codes, ...):
  copied to every node.

The rules a distributed PostgreSQL (Citus) imposes on that layout, one function each:

1. ``distribution-key-type``: every hotel-owned table's ``hotel_id`` has one type (co-located
   tables need equal distribution column types).
2. ``unique-includes-key``: every primary key, unique constraint and unique index of a
   hotel-owned table includes ``hotel_id``.
3. ``exclusion-includes-key``: every exclusion constraint of a hotel-owned table compares
   ``hotel_id`` with ``=``.
4. ``fk-between-distributed-includes-key``: every foreign key between two hotel-owned tables
   maps ``hotel_id`` to ``hotel_id``.
5. ``reference-references-reference``: a reference table never references a hotel-owned one.
6. ``classified``: a table without ``hotel_id`` is a declared reference table (a hotel's data
   without the key could not be distributed).
7. ``distribution-key-not-null``: ``hotel_id`` of a hotel-owned table is NOT NULL (a row must
   have a shard).

:data:`REFERENCE_TABLES` is the declared list; ``docs/scale-out.md`` and its script follow it.
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


@dataclass(frozen=True)
class Violation:
    rule: str
    table: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.table}: {self.detail}"


def tables(conn: psycopg.Connection, schema: str) -> dict[str, str | None]:
    """table -> type of its hotel_id column (None: it has none), ordinary and partitioned tables."""
    rows = conn.execute(
        """
        select c.relname, format_type(a.atttypid, a.atttypmod)
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_attribute a on a.attrelid = c.oid and a.attname = %s and not a.attisdropped
        where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition
        """,
        [KEY, schema],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def check(
    conn: psycopg.Connection, schema: str = "core", reference: frozenset[str] | set[str] = REFERENCE_TABLES
) -> list[Violation]:
    found = tables(conn, schema)
    distributed = {t for t, typ in found.items() if typ is not None and t not in reference}
    out: list[Violation] = []

    # 7. the distribution column is never null
    for (table,) in conn.execute(
        """
        select c.relname from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attname = %s
        where n.nspname = %s and c.relkind in ('r', 'p') and not a.attnotnull
        """,
        [KEY, schema],
    ).fetchall():
        if table in distributed:
            out.append(Violation("distribution-key-not-null", table, f"{KEY} may be null"))

    # 1. one distribution column type
    types = {found[t] for t in distributed}
    if len(types) > 1:
        common = max(types, key=lambda ty: sum(1 for t in distributed if found[t] == ty))
        for t in sorted(distributed):
            if found[t] != common:
                out.append(Violation("distribution-key-type", t, f"{KEY} is {found[t]}, the others {common}"))

    # 6. a table without the key must be a declared reference table
    for t in sorted(set(found) - distributed):
        if t not in reference:
            out.append(Violation("classified", t, f"no {KEY} and not a declared reference table"))

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
        if table in distributed and KEY not in columns:
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
        if table in distributed and f"{KEY} =" not in pairs:
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
        if table in distributed and target in distributed and f"{KEY}={KEY}" not in pairs:
            out.append(
                Violation(
                    "fk-between-distributed-includes-key", table, f"{name} -> {target} ({', '.join(pairs)})"
                )
            )
        if table not in distributed and target in distributed:
            out.append(
                Violation("reference-references-reference", table, f"{name} -> {target} ({', '.join(pairs)})")
            )
    return sorted(out, key=lambda v: (v.rule, v.table, v.detail))


def plan(
    conn: psycopg.Connection, schema: str = "core", reference: frozenset[str] | set[str] = REFERENCE_TABLES
) -> tuple[list[str], list[str]]:
    """(distributed tables, reference tables) of the schema, for docs/scale-out.md's script."""
    found = tables(conn, schema)
    distributed = sorted(t for t, ty in found.items() if ty is not None and t not in reference)
    return distributed, sorted(set(found) - set(distributed))


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
    distributed ones reference them), each kind in foreign-key order, the hotel-owned tables all
    co-located with the first one."""
    distributed, reference = plan(conn, schema)
    refs = _references(conn, schema)
    lines = ["-- reference tables: copied to every node"]
    lines += [
        f"select create_reference_table('{schema}.{t}');" for t in _in_dependency_order(reference, refs)
    ]
    lines.append("-- hotel-owned tables: sharded by hotel_id, all co-located")
    ordered = _in_dependency_order(distributed, refs)
    for t in ordered:
        colocate = "'none'" if t == ordered[0] else f"'{schema}.{ordered[0]}'"
        lines.append(
            f"select create_distributed_table('{schema}.{t}', 'hotel_id', colocate_with => {colocate});"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m hotelcore_tools.citus URL: the script for docs/scale-out.md
    import sys

    from pyapi.server import get_server

    with psycopg.connect(sys.argv[1] if len(sys.argv) > 1 else get_server().url) as _conn:
        print(script(_conn), end="")
