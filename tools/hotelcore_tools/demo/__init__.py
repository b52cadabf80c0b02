"""``hotelcore demo``: a season in a small hotel chain, simulated day by day through the ``api``.

The demo builds a chain with :mod:`hotelcore_tools.datagen` (hotels, room types, rooms, rate plans,
seasons, holidays, members), then lives through a season one day at a time. Each hotel's day
runs at its own local hours: the database clock (``internal.now()``) is moved to that hour with
``internal.shift_clock`` (the demo connects as the database owner), so every deadline the rules
read — arrival day, free-cancellation window, hold expiry, no-show — is the hotel's own.

What happens on a hotel's day, in order (the hour is local):

* 02:00 night audit of yesterday (room nights posted, no-shows marked), no-show fees collected,
  expired holds and waitlist entries swept;
* 09:00 departures: the folio is paid and the guest checks out (a few leave early); points are
  earned; some guests write a review; some members redeem points;
* 12:00 housekeeping cleans the rooms left dirty; now and then a room is taken out for repairs;
* 13:00 the day's booking requests: a lead time, a length of stay and an origin (member, pms,
  ota, direct) each; a hold is taken, then confirmed, released or left to expire; a sold-out
  request from a member joins the waitlist; a few direct bookings go through the HTTP
  checkout saga; a few minutes later the abandoned holds expire;
* 14:00 cancellations (fees per the rate plan's policy, then collected) and modifications fall
  due; offers made to the waitlist are taken up;
* 16:00 arrivals check in (except the no-shows); 18:00 in-house guests book spa treatments and
  order room service through hotel-saas's orders (accepted, delivered a quarter to an hour
  later, which posts the charges to the folio; a few are cancelled, a rare delivered one is
  reversed after a complaint, some get feedback); 20:00 restaurant, bar and laundry charges.

Every decision comes from one ``random.Random(seed)`` and every query the simulation reads is
ordered, so the same seed gives the same figures. The rules themselves are all in PostgreSQL:
Python only plays the guests and the staff.

After the season the demo prints the manager's reports (read from the ``report`` views), checks
the invariants (no overlapping stays, no oversold night, counters = recount, every closed folio
balanced) and writes an HTML report that opens offline.
"""

from .command import main  # noqa: F401
from .readout import check_invariants, read_reports, run  # noqa: F401
from .render import HOTEL_COLOURS, ORIGIN_COLOURS, RANK_COLOURS, _heat, tables, write_html  # noqa: F401
from .season import Season  # noqa: F401
from .spec import DEMO_DATABASE, DemoResult, DemoSpec  # noqa: F401
