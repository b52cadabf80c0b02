"""The HTTP API (seed 000's endpoints, seed 001's checkout): FastAPI over the ``api`` functions.

``create_app(Settings(database_url=...))`` builds the app; ``start_server(url, port=...)`` runs it
under uvicorn in a background thread (benchmarks, tests); ``hotelcore serve`` runs it in the
foreground.
"""

from .app import RunningServer, Settings, create_app, serve, start_server

__all__ = ["RunningServer", "Settings", "create_app", "serve", "start_server"]
