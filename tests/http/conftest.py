"""Factories for the HTTP API tests: two hotels built through the api, an API key per system and
hotel, and the app on a fresh database behind FastAPI's TestClient (lifespan included)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import psycopg
import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from fastapi.testclient import TestClient  # noqa: E402

from pyapi.checkout.gateway import Resilience, SimulatedGateway  # noqa: E402
from pyapi.http import Settings, create_app  # noqa: E402
from tests.support.http import World, build_hotel, issue_key  # noqa: E402


@pytest.fixture
def world(db: psycopg.Connection, fresh_db: str) -> World:
    a = build_hotel(db, "HA")
    b = build_hotel(db, "HB")
    keys = {
        "pms_a": issue_key(db, "pms", [a.id]),
        "member_a": issue_key(db, "member", [a.id]),
        "saas_a": issue_key(db, "saas", [a.id]),
        "pms_b": issue_key(db, "pms", [b.id]),
        "member_b": issue_key(db, "member", [b.id]),
    }
    return World(fresh_db, a, b, keys)


FAST = Resilience(tries=3, backoff_base=0.0, backoff_max=0.0, fail_max=5, reset_timeout=60)


@pytest.fixture
def make_client(world: World) -> Iterator[Callable[..., TestClient]]:
    """``make_client(gateway=..., **settings)``: the app on the world's database, started."""
    opened: list[TestClient] = []

    def make(gateway: SimulatedGateway | None = None, **settings) -> TestClient:
        settings.setdefault("recovery_interval", 0)
        settings.setdefault("resilience", FAST)
        settings.setdefault("pool_max", 8)
        app = create_app(Settings(database_url=world.url, **settings), gateway=gateway or SimulatedGateway())
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def gateway() -> SimulatedGateway:
    return SimulatedGateway()


@pytest.fixture
def client(make_client, gateway) -> TestClient:
    return make_client(gateway)
