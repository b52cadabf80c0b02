"""Two systems' concurrent stale writes never lose a write silently (seed 000: 競合解決).

Eight connections, half logged in as hotel-member and half as hotel-pms (SET ROLE), each read the
customer and write it back with the version they read, over and over. Every write carries a token
no other write has (in address_line2, and now and then a phone or a name that clashes). Checked in
SQL afterwards: every token is either in a version of the customer (core.customer_changes: applied
or merged) or in the conflict that recorded the write (core.conflicts.ours), the versions have no
gap, and every conflict the answers named exists with the verdict they gave."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from tests.support.reservation import recount_problems

THREADS = 8
WRITES = 12


def test_every_stale_write_is_applied_merged_or_recorded(db: psycopg.Connection, customer, hammer):
    cid = customer()

    def writer(conn: psycopg.Connection, i: int) -> list[tuple[str, str, int | None]]:
        role = "hotelcore_member" if i % 2 == 0 else "hotelcore_pms"
        conn.execute(f"set role {role}")
        answers = []
        for k in range(WRITES):
            token = f"t{i}-w{k}"
            version = conn.execute("select (api.get_customer(%s) ->> 'version')::int", (cid,)).fetchone()[0]
            changes = {"address_line2": token}
            if k % 4 == 3:
                changes["phone"] = f"+81 90 {1000 + i:04d} {1000 + k:04d}"  # a critical field now and then
            if k % 6 == 5:
                changes["given_name"] = f"Taro{i}"
            doc = conn.execute(
                "select api.update_customer(%s, %s, %s)", (cid, version, Jsonb(changes))
            ).fetchone()[0]
            conflict = doc.get("conflict") or {}
            answers.append((token, conflict.get("verdict", "applied"), conflict.get("conflict_id")))
        return answers

    results = [a for answers in hammer.run(THREADS, writer) for a in answers]
    assert len(results) == THREADS * WRITES
    verdicts = {v for _, v, _ in results}
    assert "merged" in verdicts or "needs_review" in verdicts, (
        "the writers never raced: the test proves nothing"
    )

    tokens = [t for t, _, _ in results]
    lost = db.execute(
        """
        select t.token
        from unnest(%s::text[]) as t (token)
        where not exists (select 1 from core.customer_changes ch
                          where ch.customer_id = %s and ch.changes -> 'address_line2' ->> 'new' = t.token)
          and not exists (select 1 from core.conflicts f
                          where f.entity_type = 'customer' and f.entity_id = %s and f.ours ->> 'address_line2' = t.token)
        """,
        (tokens, cid, cid),
    ).fetchall()
    assert lost == [], f"writes lost silently: {lost}"

    # versions 2..n each have their history row: nothing was written around the log
    gaps = db.execute(
        """
        select v from generate_series(2, (select version from core.customers where id = %s)) v
        where not exists (select 1 from core.customer_changes ch where ch.customer_id = %s and ch.version = v)
        """,
        (cid, cid),
    ).fetchall()
    assert gaps == []

    # each answer's conflict is recorded with the verdict the writer was told; an applied write
    # (up to date) recorded none
    for token, verdict, conflict_id in results:
        if verdict == "applied":
            assert conflict_id is None
            continue
        row = db.execute(
            "select verdict, status, ours ->> 'address_line2' from core.conflicts where id = %s",
            (conflict_id,),
        ).fetchone()
        assert row is not None and row[0] == verdict and row[2] == token, (token, verdict, row)
        assert row[1] == ("open" if verdict == "needs_review" else "resolved")
    # a write recorded for review left the master untouched: its token is in no version
    kept_out = db.execute(
        """
        select count(*) from core.conflicts f
        where f.entity_id = %s and f.verdict = 'needs_review'
          and exists (select 1 from core.customer_changes ch
                      where ch.customer_id = f.entity_id and ch.changes -> 'address_line2' ->> 'new' = f.ours ->> 'address_line2')
        """,
        (cid,),
    ).fetchone()[0]
    assert kept_out == 0


def test_every_stale_reservation_change_is_applied_merged_or_recorded(
    db: psycopg.Connection, hotel, customer, book, hammer
):
    """The same for one booking: eight hotel-pms connections read its version and change it
    (api.modify_reservation). Each change carries a token in the requests (a small edit of the
    last one: the later timestamp may win) and now and then moves the check-out (a date clash
    when another change moved it too)."""
    rid = book(hotel, customer(), 2, 2)

    def writer(conn: psycopg.Connection, i: int) -> list[tuple[str, str, int | None]]:
        conn.execute("set role hotelcore_pms")
        answers = []
        for k in range(WRITES):
            token = f"late arrival, note t{i}-w{k}"
            version = conn.execute("select (api.get_reservation(%s) ->> 'version')::int", (rid,)).fetchone()[
                0
            ]
            check_out = hotel.day(4 + (i + k) % 2) if k % 4 == 3 else None
            out = conn.execute(
                "select conflict from api.modify_reservation(p_reservation_id => %s, p_version => %s,"
                " p_check_out => %s, p_special_requests => %s)",
                (rid, version, check_out, token),
            ).fetchone()[0]
            conflict = out or {}
            answers.append((token, conflict.get("verdict", "applied"), conflict.get("conflict_id")))
        return answers

    results = [a for answers in hammer.run(THREADS, writer) for a in answers]
    assert len(results) == THREADS * WRITES
    assert {v for _, v, _ in results} & {"merged", "needs_review"}, "the writers never raced"

    tokens = [t for t, _, _ in results]
    lost = db.execute(
        """
        select t.token
        from unnest(%s::text[]) as t (token)
        where not exists (select 1 from core.reservation_changes ch
                          where ch.reservation_id = %s and ch.changes -> 'special_requests' ->> 'new' = t.token)
          and not exists (select 1 from core.conflicts f
                          where f.entity_type = 'reservation' and f.entity_id = %s
                            and f.ours ->> 'special_requests' = t.token)
        """,
        (tokens, rid, rid),
    ).fetchall()
    assert lost == [], f"changes lost silently: {lost}"

    # versions 1..n each have their history row
    gaps = db.execute(
        """
        select v from generate_series(1, (select version from core.reservations where id = %s)) v
        where not exists (select 1 from core.reservation_changes ch where ch.reservation_id = %s and ch.version = v)
        """,
        (rid, rid),
    ).fetchall()
    assert gaps == []

    for token, verdict, conflict_id in results:
        if verdict == "applied":
            assert conflict_id is None
            continue
        row = db.execute(
            "select verdict, status, ours ->> 'special_requests' from core.conflicts where id = %s",
            (conflict_id,),
        ).fetchone()
        assert row is not None and row[0] == verdict and row[2] == token, (token, verdict, row)
        assert row[1] == ("open" if verdict == "needs_review" else "resolved")
    # a change kept for review is in no version
    kept_out = db.execute(
        """
        select count(*) from core.conflicts f
        where f.entity_type = 'reservation' and f.entity_id = %s and f.verdict = 'needs_review'
          and exists (select 1 from core.reservation_changes ch
                      where ch.reservation_id = f.entity_id
                        and ch.changes -> 'special_requests' ->> 'new' = f.ours ->> 'special_requests')
        """,
        (rid,),
    ).fetchone()[0]
    assert kept_out == 0
    # and the inventory still matches the bookings after all of it
    assert recount_problems(db) == []


def test_every_stale_room_write_is_applied_merged_or_recorded(db: psycopg.Connection, hotel, hammer):
    """The same for one room: eight hotel-pms connections (front desk and housekeeping) read its
    version and write it back (api.update_room). Each write carries a token in the housekeeping
    notes (a small edit of another's: the later timestamp may win) and now and then a status
    (a housekeeping state, or out of order: a critical clash)."""
    room_id = hotel.rooms["STD-1"]
    statuses = ["dirty", "clean", "inspected", "out_of_order"]

    def writer(conn: psycopg.Connection, i: int) -> list[tuple[str, str, int | None]]:
        conn.execute("set role hotelcore_pms")
        answers = []
        for k in range(WRITES):
            token = f"room note t{i}-w{k}"
            version = conn.execute(
                "select (r ->> 'version')::int from jsonb_array_elements(api.list_rooms(%s)) r"
                " where (r ->> 'room_id')::bigint = %s",
                (hotel.id, room_id),
            ).fetchone()[0]
            changes = {"housekeeping_notes": token}
            if k % 3 == 2:
                changes["status"] = statuses[(i + k) % len(statuses)]
            doc = conn.execute(
                "select api.update_room(%s, %s, %s, %s)", (hotel.id, room_id, version, Jsonb(changes))
            ).fetchone()[0]
            conflict = doc.get("conflict") or {}
            answers.append((token, conflict.get("verdict", "applied"), conflict.get("conflict_id")))
        return answers

    results = [a for answers in hammer.run(THREADS, writer) for a in answers]
    assert len(results) == THREADS * WRITES
    assert {v for _, v, _ in results} & {"merged", "needs_review"}, "the writers never raced"

    tokens = [t for t, _, _ in results]
    lost = db.execute(
        """
        select t.token
        from unnest(%s::text[]) as t (token)
        where not exists (select 1 from core.room_changes ch
                          where ch.room_id = %s and ch.changes -> 'housekeeping_notes' ->> 'new' = t.token)
          and not exists (select 1 from core.conflicts f
                          where f.entity_type = 'room' and f.entity_id = %s
                            and f.ours ->> 'housekeeping_notes' = t.token)
        """,
        (tokens, room_id, room_id),
    ).fetchall()
    assert lost == [], f"room writes lost silently: {lost}"

    # versions 2..n each have their history row, and every room conflict is of the room's hotel
    gaps = db.execute(
        """
        select v from generate_series(2, (select version from core.rooms where id = %s)) v
        where not exists (select 1 from core.room_changes ch where ch.room_id = %s and ch.version = v)
        """,
        (room_id, room_id),
    ).fetchall()
    assert gaps == []
    assert (
        db.execute(
            "select count(*) from core.conflicts where entity_type = 'room' and entity_id = %s and hotel_id is distinct from %s",
            (room_id, hotel.id),
        ).fetchone()[0]
        == 0
    )

    for token, verdict, conflict_id in results:
        if verdict == "applied":
            assert conflict_id is None
            continue
        row = db.execute(
            "select verdict, status, ours ->> 'housekeeping_notes' from core.conflicts where id = %s",
            (conflict_id,),
        ).fetchone()
        assert row is not None and row[0] == verdict and row[2] == token, (token, verdict, row)
        assert row[1] == ("open" if verdict == "needs_review" else "resolved")
    # a write kept for review is in no version
    kept_out = db.execute(
        """
        select count(*) from core.conflicts f
        where f.entity_type = 'room' and f.entity_id = %s and f.verdict = 'needs_review'
          and exists (select 1 from core.room_changes ch
                      where ch.room_id = f.entity_id
                        and ch.changes -> 'housekeeping_notes' ->> 'new' = f.ours ->> 'housekeeping_notes')
        """,
        (room_id,),
    ).fetchone()[0]
    assert kept_out == 0
