"""The order status machine, every pair of statuses: the allowed moves (written here from the
product rule, independently of internal.order_transitions) succeed, every other is refused with
INVALID_ORDER_TRANSITION and changes nothing; and a hypothesis state machine drives several orders
of one stay at random, checking after each step that the folio balance equals its recount and
equals what the model expects (delivered and not reversed orders are charged, nothing else)."""

from __future__ import annotations

from decimal import Decimal

import hypothesis.strategies as st
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.support.errors import raises_code
from tests.support.services import folio_recount

STATUSES = ["ordered", "accepted", "delivered", "cancelled"]
ALLOWED = {
    ("ordered", "accepted"),
    ("ordered", "cancelled"),
    ("accepted", "delivered"),
    ("accepted", "cancelled"),
    ("delivered", "cancelled"),  # reversal by credit lines
}
# how to reach a status from a new order
PATHS = {
    "ordered": [],
    "accepted": ["accepted"],
    "delivered": ["accepted", "delivered"],
    "cancelled": ["cancelled"],
}


@pytest.mark.parametrize(
    ("start", "target"), [(a, b) for a in STATUSES for b in STATUSES if a != b], ids=lambda s: s
)
def test_every_transition(db, hotel, checked_in, catalog, order, move, start, target):
    items = catalog(hotel)
    doc = order(checked_in(hotel), {items["laundry"]: 1})
    for step in PATHS[start]:
        move(doc["id"], step)
    if (start, target) in ALLOWED:
        assert move(doc["id"], target)["status"] == target
    else:
        with raises_code("INVALID_ORDER_TRANSITION") as excinfo:
            move(doc["id"], target)
        assert f"{start} -> {target}" in excinfo.value.diag.message_detail
        assert (
            db.execute("select status::text from core.service_orders where id = %s", (doc["id"],)).fetchone()[
                0
            ]
            == start
        )


def test_the_same_status_again_changes_nothing(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    stay = checked_in(hotel)
    doc = order(stay, {items["laundry"]: 1})
    move(doc["id"], "accepted")
    move(doc["id"], "delivered")
    balance = folio_recount(db, stay)
    assert move(doc["id"], "delivered")["status"] == "delivered"
    assert folio_recount(db, stay) == balance


def test_an_unknown_status_is_invalid_input(db, hotel, checked_in, catalog, order, move):
    items = catalog(hotel)
    doc = order(checked_in(hotel), {items["laundry"]: 1})
    with raises_code("INVALID_ARGUMENT"):
        move(doc["id"], "shipped")


def test_random_walks_keep_the_folio_equal_to_its_recount(db, make_hotel, checked_in, catalog, order, move):
    class Orders(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            # every example gets its own hotel and stay: nothing carries over between runs
            hotel = make_hotel(rooms=1, days=3)
            self.items = catalog(hotel)
            self.stay = checked_in(hotel, nights=2)
            self.base = folio_recount(db, self.stay)[0]
            self.status: dict[int, str] = {}
            self.total: dict[int, Decimal] = {}
            self.charged: dict[int, bool] = {}

        @rule(quantity=st.integers(1, 3), item=st.sampled_from(["sandwich", "laundry", "massage"]))
        def place(self, quantity, item):
            doc = order(self.stay, {self.items[item]: quantity})
            self.status[doc["id"]] = "ordered"
            self.total[doc["id"]] = Decimal(str(doc["total_amount"]))
            self.charged[doc["id"]] = False

        @rule(data=st.data(), to=st.sampled_from(STATUSES))
        def change(self, data, to):
            if not self.status:
                return
            order_id = data.draw(st.sampled_from(sorted(self.status)))
            current = self.status[order_id]
            try:
                move(order_id, to)
            except psycopg.Error as exc:
                assert current != to and (current, to) not in ALLOWED, (current, to, exc)
                assert exc.diag.message_primary == "INVALID_ORDER_TRANSITION"
                return
            assert current == to or (current, to) in ALLOWED, (current, to)
            if current != to:
                self.charged[order_id] = to == "delivered"
                self.status[order_id] = to

        @invariant()
        def folio_matches(self):
            reported, counted = folio_recount(db, self.stay)
            expected = self.base + sum((t for o, t in self.total.items() if self.charged[o]), Decimal(0))
            assert reported == counted == expected

    run_state_machine_as_test(
        Orders,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
