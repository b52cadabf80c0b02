"""hotelcore: a PostgreSQL-native reservation and property core.

The rules live in PostgreSQL (`db/`); this package starts the database, runs the
migrations and exposes the `api` functions to Python and HTTP callers.
"""

__version__ = "0.1.0"
