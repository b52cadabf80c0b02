"""A simulated Cloudbeds (``hotelcore vendor-sim --port P``): a real HTTP server speaking the
subset of Cloudbeds API v1.3 the connector uses, over a small ledger of its own.

* ``/api/v1.3/{method}`` for getHotels, getHotelDetails, getRoomTypes, getRooms, getRatePlans,
  getAvailableRoomTypes, postReservation, putReservation, getReservation, getReservations,
  postRoomBlock, deleteRoomBlock, postWebhook — every request validated against Cloudbeds'
  OpenAPI file (:mod:`.spec`); a request it does not allow answers 400 and is counted in
  ``violations`` (the tests assert there are none).
* API keys per property (``x-api-key``), 10 requests per second per property (429 with
  ``Retry-After``), form-encoded POST/PUT bodies, Cloudbeds' ``{"success": ..., "message": ...}``.
* Webhooks: ``postWebhook`` subscriptions get Cloudbeds' thin, unsigned JSON notifications
  (``{"event": "reservation/created", "propertyID", "reservationID", "timestamp"}``) from a sender
  thread when a reservation is created or changes status.
* Faults a test switches per property (:class:`Faults`, or ``POST /_sim/faults/{propertyID}``
  with JSON): latency, 5xx, timeouts, outage, 429 with ``Retry-After``, duplicated and
  out-of-order webhooks.

Availability of a room type on a night = its rooms - rooms of reservations not cancelled on that
night - rooms in an unexpired room block; a reservation gets the free rooms of its type.
"""

from .model import BASE_PATH, RATE_LIMIT, Block, Faults, Property, Rate, Reservation, RoomType, dumps  # noqa: F401
from .run import RunningSimulator, demo_simulator, start_simulator  # noqa: F401
from .simulator import Simulator  # noqa: F401
