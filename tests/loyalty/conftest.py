"""Factories for the loyalty tests: customers through the api, a hotel and stays as rows (shared
with the customer tests: tests/support/loyalty.py; the reservation ledger's own functions are tested
in its domain), and a check-out taken back."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tests.support.loyalty import checked_out, customer, hotel, ledger_ok, set_status, stay  # noqa: F401 (fixtures)


@pytest.fixture
def reverse_check_out(db: psycopg.Connection) -> Callable[[int], None]:
    """Takes a checked-out stay back to checked_in, as a front-desk correction would. The ledger's
    status machine does not offer that transition today, so its guard is set aside for this one
    statement; the rank trigger must still handle it."""

    def reverse(reservation_id: int) -> None:
        guards = db.execute(
            "select t.tgname from pg_trigger t where t.tgrelid = 'core.reservations'::regclass "
            "and not t.tgisinternal and t.tgname like '%%guard_status%%'"
        ).fetchall()
        with db.transaction():
            # the event triggers are deferred to commit; ALTER TABLE refuses to run with trigger
            # events pending, so they fire at once here
            db.execute("set constraints all immediate")
            for (name,) in guards:
                db.execute(f"alter table core.reservations disable trigger {name}")
            db.execute("update core.reservations set status = 'checked_in' where id = %s", (reservation_id,))
            for (name,) in guards:
                db.execute(f"alter table core.reservations enable trigger {name}")

    return reverse
