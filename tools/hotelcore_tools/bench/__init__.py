"""``hotelcore bench``: every speed target of the project, measured side by side with baselines.

The run creates its own database on the configured server (``hotelcore_bench``; the dev database
is never touched), migrates it, loads the dataset of :mod:`hotelcore_tools.datagen`, then runs each
workload from N client threads, one psycopg connection each. For every workload it reports
throughput, p50 / p95 / p99 latency, the peak memory of this process and of the server backends
serving the clients (read from ``/proc`` when the server runs on this machine), and the
invariants checked after the run (no oversold night, counters = recount).

Baselines run in the same process so that ratios stay meaningful on a noisy machine:

* seed 003's textbook booking transaction (``SELECT ... FOR UPDATE`` on per-night counters,
  ``INSERT``, ``UPDATE``) on a copy of the same calendar, in tables of a ``bench`` schema that the
  harness creates (not the migrations);
* the floor of a confirmation: the rows ``api.confirm_booking`` writes (night counters, hold,
  reservation, room line, confirmation code, folio, history document, event stream, two events,
  audit row) written by one plain SQL statement on copies of those tables with the same indexes
  and nothing else, in a ``bench_confirm_floor`` schema: what the machine allows for them;
* pgbench's built-in ``tpcb-like`` transaction on a small scale in a separate database: the
  machine's limit for a small write transaction.

Python here only drives and measures: every rule stays in the ``api`` functions it calls.
"""

from .baselines import (  # noqa: F401
    CONFIRM_FLOOR_TABLES,
    Refused,
    _pgbench_log_latencies,
    confirm_floor,
    confirm_floor_setup,
    textbook_book,
    textbook_check,
    textbook_setup,
)
from .command import bench_command, run  # noqa: F401
from .dataset import Ctx, Items, RunSettings  # noqa: F401
from .harness import BENCH_DB, RESULTS_DIR, Result, Workload, percentile, run_workload, summarize  # noqa: F401
from .render import headline, markdown, page  # noqa: F401
