-- Foundation: extensions, the core schema, the error registry and the movable clock.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create extension if not exists btree_gist;

create schema if not exists core;
comment on schema core is 'hotelcore tables: the ledger itself. Not granted to clients; they call api.* and read report.*.';

-- One registry of project SQLSTATEs (class HC), owned by the database. Rows are kept by
-- db/functions/errors.sql so that adding a code is a one-line edit; read through api.error_codes.
create table core.error_codes (
    sqlstate    text primary key,
    name        text not null,
    http_status integer not null,
    meaning     text not null,
    constraint error_codes_sqlstate_is_class_hc check (sqlstate ~ '^HC[0-9A-Z]{3}$'),
    constraint error_codes_name_is_upper_snake check (name ~ '^[A-Z][A-Z0-9_]*$'),
    constraint error_codes_http_status_is_4xx_5xx check (http_status between 400 and 599),
    constraint error_codes_name_unique unique (name)
);
comment on table core.error_codes is 'Registry of hotelcore SQLSTATEs: sqlstate, the seed''s error name, the HTTP status the API answers with, and what it means.';

-- The time every rule reads (hold expiry, cancellation deadlines, arrival day): now() plus a
-- shift that only the owner can set, so tests move time instead of sleeping.
create table core.clock (
    id    boolean primary key default true,
    shift interval not null default interval '0',
    constraint clock_single_row check (id)
);
insert into core.clock default values;
comment on table core.clock is 'Single row: shift added to now() by internal.now(). Zero in production; moved by tests and the demo''s simulation.';

-- migrate:down
drop table if exists core.clock;
drop table if exists core.error_codes;
drop schema if exists core cascade;
drop extension if exists btree_gist;
