"""The revision that seals webhook signing secrets (db/schema/events--sealed-webhook-secrets.sql,
db/schema/external_pms--sealed-webhook-secrets.sql) seals those an earlier release stored in clear,
and its downgrade opens them again for that release: none is lost either way."""

from __future__ import annotations

import psycopg

from pyapi import migrate as mig
from pyapi import vault
from tests.support.events import add_webhook
from tests.support.external_pms import import_property, property_document

SEALABLE = "schema/events--webhook-secrets-sealable.sql"  # the first of the two revisions


def _secrets(db: psycopg.Connection) -> list[str | None]:
    return [
        *db.execute("select secret from core.webhook_endpoints order by consumer_id").fetchone(),
        *db.execute("select webhook_secret from core.pms_properties order by hotel_id").fetchone(),
    ]


def test_secrets_in_clear_are_sealed_by_the_migration_and_opened_by_its_downgrade(
    db: psycopg.Connection, fresh_db: str
) -> None:
    _, clear = add_webhook(db, "http://127.0.0.1:9/h", ["customer.*"])
    today = db.execute("select (internal.now() at time zone 'Asia/Seoul')::date").fetchone()[0]
    import_property(db, property_document(today), property_id="P5")  # its webhook secret: whsec-P5
    before = next(r.down_revision for r in mig.revisions() if SEALABLE in r.schema)
    mig.downgrade(fresh_db, before)
    assert _secrets(db) == [clear, "whsec-P5"]  # what the earlier release signs and checks with
    mig.upgrade(fresh_db)
    sealed = _secrets(db)
    assert all(s.startswith("fernet:") for s in sealed)
    assert [vault.open_sealed(s) for s in sealed] == [clear, "whsec-P5"]
