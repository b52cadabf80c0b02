"""What a checkout costs the database in messages, counted from libpq's own protocol trace of the
API's one pooled connection: the round trips (each time the client sent a Query, Sync or Flush
and then read the server's answer) and the commits (CommandComplete COMMIT). A checkout makes
exactly three commits (the start with the hold; the authorisation with the confirmation; the
capture with the stored answer), each before the next gateway call or the answer; the round
trips are pinned, so a change that adds one fails here (counts, never time)."""

from __future__ import annotations

import re
from pathlib import Path

from psycopg import pq

from tests.support.http import assert_clean, checkout_body

# The checkout with an Idempotency-Key on a warm connection: three transactions of BEGIN +
# api.authenticate + one call + COMMIT (api.checkout_start: the idempotency record, the check and
# the hold; api.checkout_confirm_authorised; api.checkout_captured), the last one also storing the
# answer (api.complete_idempotent, whose body is rendered from the capture's result).
CHECKOUT_COMMITS = 3
CHECKOUT_ROUND_TRIPS = 13
# The same request again: its stored answer, read in one transaction (api.checkout_start).
REPLAY_COMMITS = 1
REPLAY_ROUND_TRIPS = 4

_MESSAGE = re.compile(r"^(F|B)\t\d+\t(\w+)(?:\t(.*))?$")


class Trace:
    """libpq's trace of one connection (PQtrace), timestamps suppressed."""

    def __init__(self, conn, path: Path):
        self.conn = conn
        self.path = path
        self.file = path.open("w")
        conn.pgconn.trace(self.file.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def stop(self) -> tuple[int, int, list[str]]:
        """(round trips, commits, the client's statements) since the trace started."""
        self.conn.pgconn.untrace()
        self.file.close()
        trips = commits = 0
        waiting = False
        sent: list[str] = []
        for line in self.path.read_text().splitlines():
            m = _MESSAGE.match(line)
            if m is None:
                continue
            side, kind, rest = m.group(1), m.group(2), m.group(3) or ""
            if side == "F" and kind in ("Query", "Sync", "Flush"):
                waiting = True
            elif side == "B" and waiting:  # the client waited for this answer
                trips += 1
                waiting = False
            if side == "F" and kind in ("Query", "Parse"):
                sent.append(rest[:80])
            if side == "B" and kind == "CommandComplete" and '"COMMIT"' in rest:
                commits += 1
        return trips, commits, sent


def _traced(client, tmp_path: Path, name: str) -> Trace:
    # the pool holds one connection (pool_min = pool_max = 1): every transaction of the request
    # goes through it, and the trace stays on it when it returns to the pool
    pool = client.app.state.hc.db.pool
    with pool.connection() as conn:
        return Trace(conn, tmp_path / f"{name}.trace")


def test_a_checkout_makes_three_commits_and_its_round_trips(make_client, world, db, tmp_path):
    client = make_client(pool_min=1, pool_max=1)
    headers = world.headers("member_a")
    # warm: the connection's first use, psycopg's prepared statements past their threshold
    for n in range(6):
        r = client.post(
            "/api/booking/checkout",
            json=checkout_body(
                world.a, email=f"warm{n}@example.com", offset=3 + n % 3, nights=1, amount=100000
            ),
            headers={**headers, "Idempotency-Key": f"warm-{n}"},
        )
        assert r.status_code == 201, r.text

    trace = _traced(client, tmp_path, "checkout")
    body = checkout_body(world.a, email="counted@example.com", offset=10, nights=2)
    r = client.post("/api/booking/checkout", json=body, headers={**headers, "Idempotency-Key": "counted"})
    trips, commits, sent = trace.stop()
    assert r.status_code == 201, r.text
    assert commits == CHECKOUT_COMMITS, sent
    assert trips == CHECKOUT_ROUND_TRIPS, "\n".join(sent)

    trace = _traced(client, tmp_path, "replay")
    again = client.post("/api/booking/checkout", json=body, headers={**headers, "Idempotency-Key": "counted"})
    trips, commits, sent = trace.stop()
    assert again.status_code == 201 and again.json()["data"] == r.json()["data"]
    assert commits == REPLAY_COMMITS, sent
    assert trips == REPLAY_ROUND_TRIPS, sent
    assert_clean(db)
