-- Who reads the event log (db/schema/events.sql): pull consumers and outbound webhooks, their
-- cursors, the webhook deliveries with every attempt, and the log's retention.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout:
--   core.events.recorded_at  the real time (not the shifted business clock) the writing
--                            transaction started: commit-to-delivery latency and consumer lag
--                            are measured from it, so a moved demo clock cannot distort them.
--   core.event_settings      one row: how long delivered events are kept, the purge batch size.
--   core.event_consumers     one row per consumer: the three systems' pull consumers, and one per
--                            webhook endpoint. The system whose rights it reads with (seed 000's
--                            matrix: member, pms, saas; admin = every field), the hotels it is
--                            limited to, the event types it wants (patterns such as
--                            'reservation.*'), and its cursor: the reading position
--                            (order_xid, id) of internal.events_after up to which it has
--                            acknowledged (pull) or fanned out into deliveries (webhook).
--   core.webhook_endpoints   the URL and whsec_ secret of a webhook consumer; during a rotation
--                            the previous secret too, until previous_secret_until.
--   core.webhook_deliveries  one row per (endpoint, event) to send, and one per replay. A pending
--                            row is due at next_attempt_at; a dispatcher leases it (lease_until)
--                            with FOR UPDATE SKIP LOCKED, so two dispatchers never send the same
--                            row at the same time, and a killed dispatcher's lease simply runs
--                            out. Within an endpoint an aggregate's deliveries go out in
--                            aggregate_seq order: a row is not due while an earlier one of the
--                            same aggregate is pending.
--   core.webhook_attempts    every attempt: status code or error, latency, dispatcher.

-- migrate:up
alter table core.events add column recorded_at timestamptz not null default pg_catalog.now();
comment on column core.events.recorded_at is
    'Real start time of the writing transaction (now(), not the business clock internal.now()): the start of commit-to-delivery latency and of consumer lag.';

create table core.event_settings (
    id          boolean primary key default true,
    retention   interval not null default '30 days',
    purge_batch integer not null default 1000,
    constraint event_settings_single_row check (id),
    constraint event_settings_retention_positive check (retention > interval '0'),
    constraint event_settings_purge_batch_positive check (purge_batch between 1 and 100000)
);
comment on table core.event_settings is
    'One row: how long events every consumer has passed are kept (default 30 days) and how many rows one purge transaction deletes.';
insert into core.event_settings default values;

create table core.event_consumers (
    id               bigint generated always as identity primary key,
    name             text not null,
    kind             text not null,
    system           text not null,
    event_types      text[] not null,
    hotel_ids        bigint[],
    cursor_order_xid xid8 not null default '0',
    cursor_id        bigint not null default 0,
    cursor_moved_at  timestamptz,
    created_at       timestamptz not null default pg_catalog.now(),
    disabled_at      timestamptz,
    disabled_reason  text,
    constraint event_consumers_name_unique unique (name),
    constraint event_consumers_name_shape check (name ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'),
    constraint event_consumers_kind_known check (kind in ('pull', 'webhook')),
    constraint event_consumers_system_known check (system in ('member', 'pms', 'saas', 'admin')),
    constraint event_consumers_types_not_empty check (cardinality(event_types) > 0),
    constraint event_consumers_disabled_has_reason check ((disabled_at is null) = (disabled_reason is null))
);
comment on table core.event_consumers is
    'Consumers of the event log: the systems'' pull consumers and every webhook endpoint, with the rights they read with (system), their hotels, the event types they want and their cursor.';
comment on column core.event_consumers.system is 'Whose rights filter the events (seed 000''s matrix): member, pms, saas; admin sees every field.';
comment on column core.event_consumers.event_types is 'Wanted types: exact names or a prefix pattern (''reservation.*''); ''*'' is every type.';
comment on column core.event_consumers.hotel_ids is 'The hotels the consumer is limited to; null: every hotel (chain-wide events, hotel_id null, always pass).';
comment on column core.event_consumers.cursor_order_xid is 'Reading position (order_xid part) acknowledged or fanned out up to.';
comment on column core.event_consumers.cursor_id is 'Reading position (id part) acknowledged or fanned out up to.';

insert into core.event_consumers (name, kind, system, event_types) values
    ('hotel-member', 'pull', 'member', array['*']),
    ('hotel-pms',    'pull', 'pms',    array['*']),
    ('hotel-saas',   'pull', 'saas',   array['*']);

create table core.webhook_endpoints (
    consumer_id           bigint primary key references core.event_consumers (id) on delete cascade,
    url                   text not null,
    secret                text not null,
    previous_secret       text,
    previous_secret_until timestamptz,
    description           text,
    constraint webhook_endpoints_url_shape check (url ~ '^https?://[^\s/]+' and length(url) <= 2000),
    constraint webhook_endpoints_secret_shape check (secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'),
    constraint webhook_endpoints_previous_secret_shape check (
        (previous_secret is null) = (previous_secret_until is null)
        and (previous_secret is null or previous_secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'))
);
comment on table core.webhook_endpoints is
    'Outbound webhook endpoints (Standard Webhooks): URL and whsec_ signing secret; after a rotation the previous secret also signs until previous_secret_until.';

create table core.webhook_deliveries (
    id              bigint generated always as identity primary key,
    consumer_id     bigint not null references core.event_consumers (id) on delete cascade,
    event_pk        bigint not null references core.events (id) on delete cascade,
    aggregate_kind  text not null,
    aggregate_id    text not null,
    aggregate_seq   bigint not null,
    status          text not null default 'pending',
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default pg_catalog.now(),
    lease_until     timestamptz,
    leased_by       text,
    created_at      timestamptz not null default pg_catalog.now(),
    finished_at     timestamptz,
    last_status     integer,
    last_error      text,
    replay_of       bigint references core.webhook_deliveries (id) on delete set null,
    constraint webhook_deliveries_status_known check (status in ('pending', 'delivered', 'dead')),
    constraint webhook_deliveries_attempts_not_negative check (attempts >= 0),
    constraint webhook_deliveries_finished_when_done check ((status = 'pending') = (finished_at is null))
);
comment on table core.webhook_deliveries is
    'One row per event to send to an endpoint (and one per replay): pending until delivered (2xx) or dead (last attempt failed, or the endpoint answered 410). Times are real time.';
comment on column core.webhook_deliveries.lease_until is 'A dispatcher is sending it until then; after that (a killed dispatcher) another one may.';
create unique index webhook_deliveries_once_per_event on core.webhook_deliveries (consumer_id, event_pk) where replay_of is null;
create index webhook_deliveries_due on core.webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_aggregate on core.webhook_deliveries (consumer_id, aggregate_kind, aggregate_id, aggregate_seq)
    where status = 'pending';
create index webhook_deliveries_event on core.webhook_deliveries (event_pk);
create index webhook_deliveries_replay_of on core.webhook_deliveries (replay_of) where replay_of is not null;
create index webhook_deliveries_finished on core.webhook_deliveries (consumer_id, finished_at);

create table core.webhook_attempts (
    id          bigint generated always as identity primary key,
    delivery_id bigint not null references core.webhook_deliveries (id) on delete cascade,
    attempt     integer not null,
    started_at  timestamptz not null,
    latency_ms  numeric(12, 3) not null,
    status_code integer,
    error       text,
    dispatcher  text not null,
    constraint webhook_attempts_attempt_positive check (attempt > 0),
    constraint webhook_attempts_has_outcome check (status_code is not null or error is not null),
    constraint webhook_attempts_latency_not_negative check (latency_ms >= 0)
);
comment on table core.webhook_attempts is 'Every delivery attempt: when, how long the request took, the status code or the transport error, and which dispatcher sent it.';
create index webhook_attempts_delivery on core.webhook_attempts (delivery_id, attempt);

-- migrate:down
drop table core.webhook_attempts;
drop table core.webhook_deliveries;
drop table core.webhook_endpoints;
drop table core.event_consumers;
drop table core.event_settings;
alter table core.events drop column recorded_at;
