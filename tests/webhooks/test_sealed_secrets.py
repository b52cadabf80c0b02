"""A webhook endpoint's signing secrets are stored sealed (db/schema/events--sealed-webhook-secrets.sql,
pyapi/vault.py): the table holds no clear secret, a clear one is refused, the dispatcher opens them
to sign and the receiver verifies, and a rotation of the sealing key keeps every endpoint signing."""

from __future__ import annotations

import psycopg
import pytest
from cryptography.fernet import Fernet

from hotelcore_tools.receiver import Receiver
from pyapi import vault
from pyapi.dispatch import Dispatcher, new_secret, reseal_secrets
from tests.support.errors import raises_code
from tests.support.events import add_webhook, create_customer, wait_readable
from tests.webhooks.test_webhooks import FAST, drain


def stored(db: psycopg.Connection, webhook: int) -> tuple[str, str | None]:
    return db.execute(
        "select secret, previous_secret from core.webhook_endpoints where consumer_id = %s", (webhook,)
    ).fetchone()


def test_the_table_holds_sealed_secrets_only(db: psycopg.Connection) -> None:
    webhook, first = add_webhook(db, "http://127.0.0.1:9/h", ["customer.*"])
    second, sealed = new_secret()
    db.execute("select api.rotate_webhook_secret(%s, %s)", (webhook, sealed))
    secret, previous = stored(db, webhook)
    assert secret.startswith("fernet:") and previous.startswith("fernet:")
    assert (
        first[len("whsec_") :] not in secret + previous and second[len("whsec_") :] not in secret + previous
    )
    assert (vault.open_sealed(secret), vault.open_sealed(previous)) == (second, first)
    # a secret in clear is refused by the api and by the table
    with raises_code("INVALID_ARGUMENT"):
        db.execute("select api.add_webhook('http://127.0.0.1:9/h', array['*'], %s)", (first,))
    with raises_code("INVALID_ARGUMENT"):
        db.execute("select api.rotate_webhook_secret(%s, %s)", (webhook, second))
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("update core.webhook_endpoints set secret = %s where consumer_id = %s", (first, webhook))
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "update core.webhook_endpoints set previous_secret = %s where consumer_id = %s", (first, webhook)
        )


def test_the_dispatcher_gets_them_sealed_and_signs_with_them_opened(
    db: psycopg.Connection, fresh_db: str
) -> None:
    with Receiver([]) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        rx.secrets.append(secret)
        create_customer(db, 1)
        wait_readable(db)
        db.execute("select api.fanout_webhook_events()")
        with db.transaction(force_rollback=True):
            claimed = db.execute("select secrets from api.claim_webhook_deliveries('peek')").fetchall()
        assert claimed and all(s.startswith("fernet:") for (secrets,) in claimed for s in secrets)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: len(rx.received) >= 1)
        assert len(rx.received) == 1 and not rx.rejected  # verified with the clear secret


def test_a_rotation_of_the_sealing_key_keeps_every_endpoint_signing(
    db: psycopg.Connection, fresh_db: str, monkeypatch
) -> None:
    old_key = vault._keys()[0].decode()
    with Receiver([]) as rx:
        webhook, secret = add_webhook(db, rx.url, ["customer.*"])
        _, sealed = new_secret()
        db.execute("select api.rotate_webhook_secret(%s, %s)", (webhook, sealed))
        before = stored(db, webhook)
        new_key = Fernet.generate_key().decode()
        monkeypatch.setenv(vault.ENV, f"{new_key},{old_key}")
        assert reseal_secrets(db) == {"resealed": 1, "changed_meanwhile": 0}
        after = stored(db, webhook)
        assert after != before and all(s.startswith("fernet:") for s in after)
        # the old key dropped: the secrets still open, to the same values
        monkeypatch.setenv(vault.ENV, new_key)
        assert vault.open_sealed(after[1]) == secret and vault.open_sealed(after[0]).startswith("whsec_")
        with pytest.raises(vault.VaultError):
            vault.open_sealed(before[0])
        # a reseal from what was read before a change is refused (compare-and-swap)
        changed = db.execute(
            "select api.reseal_webhook_secrets(%s, %s, %s, %s, %s)",
            (webhook, vault.seal("x"), vault.seal("y"), before[0], before[1]),
        ).fetchone()[0]
        assert changed is False and stored(db, webhook) == after
        # and the endpoint signs with them: its receiver knows the two secrets of the rotation
        rx.secrets[:] = [secret, vault.open_sealed(after[0])]
        create_customer(db, 2)
        with Dispatcher(fresh_db, schedule=FAST) as d:
            drain(d, lambda: len(rx.received) >= 1)
        assert len(rx.received) == 1 and not rx.rejected
