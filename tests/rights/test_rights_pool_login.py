"""A pooled login that is not a member of the key's system role is refused, never run as itself.

The attack: the HTTP layer's pool login holds hotelcore_admin (recovery jobs) but was not granted
hotelcore_member. api.authenticate used to answer db_role = null for a member key, the pool then
skipped SET LOCAL ROLE, and the member's request ran with the admin's rights. Now api.authenticate
refuses (SYSTEM_ROLE_NOT_GRANTED) and `hotelcore serve` / the app say so at start-up.
"""

from __future__ import annotations

import logging
import warnings

import psycopg
from psycopg.conninfo import make_conninfo

from tests.support.rights import PASSWORD, World, issue_key

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
from fastapi.testclient import TestClient  # noqa: E402

from pyapi.http import Settings, create_app  # noqa: E402
from tests.support.errors import raises_code  # noqa: E402


def test_authenticate_refuses_a_login_outside_the_systems_role(
    db: psycopg.Connection, world: World, connect_as
) -> None:
    _, token = issue_key(db, "member", [world.a.id])
    admin = connect_as("admin")  # a member of hotelcore_admin only
    with raises_code("SYSTEM_ROLE_NOT_GRANTED") as refused:
        admin.execute("select * from api.authenticate(%s)", (token,)).fetchone()
    assert "hotelcore_member" in refused.value.diag.message_detail
    admin.rollback()


def test_the_http_api_refuses_requests_its_login_cannot_act_for(
    db: psycopg.Connection, world: World, fresh_db: str, logins, caplog
) -> None:
    _, token = issue_key(db, "member", [world.a.id])
    reservation = world.future[world.a.id]
    url = make_conninfo(fresh_db, user=logins["admin"], password=PASSWORD)
    app = create_app(Settings(database_url=url, recovery_interval=0, pool_max=2))
    with (
        caplog.at_level(logging.WARNING, logger="hotelcore.http"),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        said = " ".join(r.getMessage() for r in caplog.records)
        assert logins["admin"] in said and "hotelcore_member" in said and "hotelcore_service" in said
        # before, this ran with the admin login's rights (every right of the matrix)
        r = client.get(f"/api/v2/member/customers/{world.customer}", headers={"X-API-Key": token})
        assert (r.status_code, r.json()["error"]["code"]) == (500, "SYSTEM_ROLE_NOT_GRANTED")
    assert (
        db.execute("select status from core.reservations where id = %s", (reservation,)).fetchone()[0]
        == "confirmed"
    )
