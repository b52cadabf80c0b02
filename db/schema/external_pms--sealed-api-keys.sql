-- A vendor API key is stored sealed (a Fernet token, "fernet:..."), never in clear: the key that
-- opens it lives with the processes that call the vendor, outside the database (see
-- docs/external-pms.md). Rows written before are sealed by `hotelcore pms rotate-keys`; the
-- constraint holds every row written from now on.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
alter table core.pms_properties add constraint pms_properties_api_key_sealed
    check (api_key like 'fernet:%') not valid;
comment on column core.pms_properties.api_key is
    'The vendor API key sealed (fernet: token) under a key the database never holds; opened by the connector only.';

-- migrate:down
comment on column core.pms_properties.api_key is null;
alter table core.pms_properties drop constraint if exists pms_properties_api_key_sealed;
