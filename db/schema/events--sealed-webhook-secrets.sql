-- A webhook endpoint's signing secrets are stored sealed (a Fernet token, "fernet:..."), never in
-- clear: the key that opens them lives with the dispatcher, outside the database (pyapi/vault.py,
-- the one home of sealing, as for the vendor API keys: db/schema/external_pms--sealed-api-keys.sql).
-- The api functions take them sealed and no function returns one in clear. The revision applying
-- this file seals the secrets stored in clear before it (its Python step, with that key), so
-- the checks hold every row: added NOT VALID (no scan under the table's lock), like the API keys'.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.webhook_endpoints
    add constraint webhook_endpoints_secret_sealed check (secret like 'fernet:%') not valid,
    add constraint webhook_endpoints_previous_secret_sealed check (previous_secret like 'fernet:%') not valid;
comment on column core.webhook_endpoints.secret is
    'The whsec_ signing secret sealed (fernet: token) under a key the database never holds; opened by the dispatcher only.';
comment on column core.webhook_endpoints.previous_secret is
    'During a rotation, the previous signing secret, sealed like secret; it also signs until previous_secret_until.';

-- migrate:down
comment on column core.webhook_endpoints.previous_secret is null;
comment on column core.webhook_endpoints.secret is null;
alter table core.webhook_endpoints
    drop constraint if exists webhook_endpoints_previous_secret_sealed,
    drop constraint if exists webhook_endpoints_secret_sealed;
