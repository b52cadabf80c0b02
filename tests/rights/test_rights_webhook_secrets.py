"""No login reads a webhook signing secret in clear, not even admin's: the functions that hand
them out (to the dispatcher and to the key rotation) give sealed tokens to admin and refuse every
other system; the secret-writing functions refuse every other system too."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.support.errors import DENIED, raises_code
from tests.support.events import add_webhook, create_customer, wait_readable
from tests.support.sql import call

READS = {
    "list_webhooks": {},
    "webhook_sealed_secrets": {},
    "claim_webhook_deliveries": {"p_dispatcher": "spy"},
}


@pytest.fixture
def webhook(db: psycopg.Connection) -> tuple[int, str]:
    hook = add_webhook(db, "http://127.0.0.1:9/h", ["customer.*"])
    create_customer(db, 1)
    wait_readable(db)
    db.execute("select api.fanout_webhook_events()")
    return hook


def test_admin_gets_sealed_tokens_only(webhook, connect_as) -> None:
    webhook_id, secret = webhook
    admin = connect_as("admin")
    seen = json.dumps({name: call(admin, name, **args) for name, args in READS.items()}, default=str)
    assert secret not in seen and secret[len("whsec_") :] not in seen
    assert seen.count("fernet:") >= 2  # the stored secret, and the claimed delivery's
    admin.rollback()
    with pytest.raises(psycopg.Error) as caught:  # nor the table (no client holds a right on core)
        admin.execute("select secret from core.webhook_endpoints")
    assert caught.value.sqlstate in DENIED


def test_an_admin_login_limited_to_a_hotel_cannot_run_the_key_rotation(
    db, webhook, logins, connect_as
) -> None:
    webhook_id, _ = webhook
    hotel = db.execute("select api.create_hotel('SCOPED', 'Scoped', 'Asia/Seoul', 'KRW')").fetchone()[0]
    db.execute(
        "insert into core.login_hotels (role_name, hotel_id) values (%s, %s)", (logins["admin"], hotel)
    )
    admin = connect_as("admin")
    sealed = "fernet:gAAAAAspy"
    for name, args in {
        "webhook_sealed_secrets": {},
        "reseal_webhook_secrets": {
            "p_webhook_id": webhook_id,
            "p_secret_sealed": sealed,
            "p_previous_secret_sealed": None,
            "p_was_secret": sealed,
            "p_was_previous_secret": None,
        },
    }.items():
        with raises_code("PERMISSION_DENIED"):
            call(admin, name, **args)
        admin.rollback()


@pytest.mark.parametrize("system", ["member", "pms", "saas", "bi"])
def test_other_systems_can_neither_read_nor_write_them(system: str, webhook, connect_as) -> None:
    webhook_id, _ = webhook
    conn = connect_as(system)
    sealed = "fernet:gAAAAAspy"
    for name, args in {
        **READS,
        "add_webhook": {"p_url": "http://127.0.0.1:9/x", "p_event_types": ["*"], "p_secret_sealed": sealed},
        "rotate_webhook_secret": {"p_webhook_id": webhook_id, "p_secret_sealed": sealed},
        "reseal_webhook_secrets": {
            "p_webhook_id": webhook_id,
            "p_secret_sealed": sealed,
            "p_previous_secret_sealed": None,
            "p_was_secret": sealed,
            "p_was_previous_secret": None,
        },
    }.items():
        with pytest.raises(psycopg.Error) as caught:
            call(conn, name, **args)
        assert caught.value.sqlstate in DENIED, name
        conn.rollback()
