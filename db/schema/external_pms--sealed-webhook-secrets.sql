-- The secret an external hotel's signed webhooks are checked with is stored sealed (a Fernet
-- token, "fernet:..."), like its vendor API key (db/schema/external_pms--sealed-api-keys.sql):
-- the API opens it with its key outside the database to check a signature. The revision applying
-- this file seals the secrets stored in clear before it (its Python step, with that key).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.pms_properties add constraint pms_properties_webhook_secret_sealed
    check (webhook_secret like 'fernet:%') not valid;
comment on column core.pms_properties.webhook_secret is
    'The HMAC secret of the vendor''s signed webhooks sealed (fernet: token) under a key the database never holds; opened by the API only.';

-- migrate:down
comment on column core.pms_properties.webhook_secret is null;
alter table core.pms_properties drop constraint if exists pms_properties_webhook_secret_sealed;
