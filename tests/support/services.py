"""Helpers of the guest-service tests: a folio against its recount, the lines an order posted, a check-out."""

from __future__ import annotations

from decimal import Decimal

import psycopg


def folio_recount(db: psycopg.Connection, reservation_id: int) -> tuple[Decimal, Decimal]:
    """(the balance api.folio_balances reports, the sum of the folio's lines counted here)."""
    reported = db.execute(
        "select balance from api.folio_balances where reservation_id = %s", (reservation_id,)
    ).fetchone()[0]
    counted = db.execute(
        "select coalesce(sum(l.amount), 0) from core.folio_lines l join core.folios f on f.id = l.folio_id"
        " where f.reservation_id = %s",
        (reservation_id,),
    ).fetchone()[0]
    return reported, counted


def service_lines(db: psycopg.Connection, reservation_id: int) -> list[tuple[str, Decimal]]:
    """(kind, amount) of the folio lines an order posted, in posting order."""
    return db.execute(
        "select l.kind::text, l.amount from core.service_order_postings p join core.folio_lines l on l.id = p.folio_line_id"
        " join core.folios f on f.id = l.folio_id where f.reservation_id = %s order by l.id",
        (reservation_id,),
    ).fetchall()


def check_out(db: psycopg.Connection, reservation_id: int) -> None:
    """Pays what the stay will owe (the nights are posted at check-out) and checks it out."""
    owed = db.execute(
        "select r.total_amount + (select balance from api.folio_balances b where b.reservation_id = r.id)"
        " from core.reservations r where r.id = %s",
        (reservation_id,),
    ).fetchone()[0]
    if owed > 0:
        db.execute(
            "select api.authorise_payment(p_reservation_id => %s, p_method => 'cash', p_amount => %s, p_capture => true)",
            (reservation_id, owed),
        )
    db.execute("select * from api.check_out(p_reservation_id => %s)", (reservation_id,))
