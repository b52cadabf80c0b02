-- A webhook endpoint's signing secrets are about to be stored sealed (a Fernet token, "fernet:...",
-- under a key the database never holds: db/schema/events--sealed-webhook-secrets.sql, the next
-- revision): the checks of their clear whsec_ shape go, the one of the rotation window stays.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.webhook_endpoints
    drop constraint webhook_endpoints_secret_shape,
    drop constraint webhook_endpoints_previous_secret_shape,
    add constraint webhook_endpoints_previous_secret_until_set
        check ((previous_secret is null) = (previous_secret_until is null)) not valid;
alter table core.webhook_endpoints validate constraint webhook_endpoints_previous_secret_until_set;

-- migrate:down
alter table core.webhook_endpoints
    drop constraint if exists webhook_endpoints_previous_secret_until_set,
    add constraint webhook_endpoints_secret_shape check (secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
    add constraint webhook_endpoints_previous_secret_shape check (
        (previous_secret is null) = (previous_secret_until is null)
        and (previous_secret is null or previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'));
