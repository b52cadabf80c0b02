-- The event log (seed 000's event base): every event a system publishes is a row of
-- core.events, written in the transaction of the change it describes, so an event exists if and
-- only if its change committed.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout:
--   core.event_types    the registry of event names (seed 000's, plus the additions a rule needs);
--                       its rows are kept by db/functions/events.sql, like the error registry.
--   core.event_streams  one row per aggregate (a customer, a reservation, a room, ...): the last
--                       sequence number given and the last order position. Locking this row
--                       when an event is written orders the aggregate's events as its changes
--                       were serialised.
--   core.events         the events: a stable public id (evt_...), type, aggregate, hotel, the
--                       sequence within the aggregate, payload with its schema version, who
--                       caused it, and the two transaction ids that make reading safe.
--
-- Reading without skipping: rows get their id when inserted, but transactions commit in another
-- order, so "the last id I saw" skips a row committed late. A reader therefore walks the log in
-- (order_xid, id) order and takes only rows whose order_xid is below the xmin of its snapshot
-- (pg_snapshot_xmin: every transaction older than that has ended). order_xid is the greatest of
-- the writing transaction's id and the order_xid of the aggregate's previous event, so
--   * a row that becomes visible after a reader passed position (x, id) has order_xid >= its own
--     transaction id >= that reader's xmin > x: it sorts after the cursor, nothing is skipped;
--   * one aggregate's events sort in sequence order, even when an older transaction waited for
--     a younger one's lock on the aggregate.

-- migrate:up
create table core.event_types (
    name           text primary key,
    aggregate_kind text not null,
    publisher      text not null,
    meaning        text not null,
    constraint event_types_name_shape check (name ~ '^[a-z_]+\.[a-z_]+$'),
    constraint event_types_publisher_known check (publisher in ('member', 'pms', 'saas', 'core'))
);
comment on table core.event_types is
    'Registry of event names: the aggregate kind each one is about and the system that publishes it (seed 000). Rows kept by db/functions/events.sql.';

create table core.event_streams (
    aggregate_kind text not null,
    aggregate_id   text not null,
    last_seq       bigint not null,
    last_order_xid xid8 not null,
    primary key (aggregate_kind, aggregate_id),
    constraint event_streams_last_seq_positive check (last_seq > 0)
);
comment on table core.event_streams is
    'One row per aggregate that has events: the last sequence number and order position given. Writing an event locks it, which orders one aggregate''s events as its changes were serialised.';

create table core.events (
    id             bigint generated always as identity primary key,
    event_id       text not null default ('evt_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '')),
    type           text not null,
    aggregate_kind text not null,
    aggregate_id   text not null,
    aggregate_seq  bigint not null,
    hotel_id       bigint references core.hotels (id) on delete restrict,
    schema_version smallint not null default 1,
    payload        jsonb not null,
    occurred_at    timestamptz not null,
    txid           xid8 not null default pg_catalog.pg_current_xact_id(),
    order_xid      xid8 not null,
    api_key_id     bigint,
    login_role     text not null default session_user,
    constraint events_event_id_unique unique (event_id),
    constraint events_aggregate_seq_unique unique (aggregate_kind, aggregate_id, aggregate_seq),
    constraint events_payload_is_object check (pg_catalog.jsonb_typeof(payload) = 'object'),
    constraint events_aggregate_seq_positive check (aggregate_seq > 0),
    constraint events_schema_version_positive check (schema_version > 0),
    constraint events_order_xid_not_before_txid check (order_xid >= txid)
);
comment on table core.events is
    'The event log: one row per published event, written in the transaction of its change. Read in (order_xid, id) order, only below the reader''s snapshot xmin (see internal.events_after).';
comment on column core.events.event_id is 'Stable public id (evt_ + 32 hex digits): the webhook-id of every delivery of this event.';
comment on column core.events.aggregate_seq is 'Position of the event among its aggregate''s events, from 1, without gaps.';
comment on column core.events.hotel_id is 'The hotel the event belongs to; null for chain-wide aggregates (customers, points).';
comment on column core.events.txid is 'The writing transaction''s id.';
comment on column core.events.order_xid is 'greatest(txid, order_xid of the aggregate''s previous event): the first half of the reading order.';
comment on column core.events.api_key_id is 'The API key of the request that caused the event; null for a direct SQL login.';
comment on column core.events.login_role is 'The database login that caused the event.';
create index events_order on core.events (order_xid, id);
create index events_hotel on core.events (hotel_id, id);
create index events_occurred on core.events (occurred_at);

alter table core.events enable row level security;
alter table core.events force row level security;
create policy events_in_hotel_scope on core.events
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));

-- migrate:down
drop table core.events;
drop table core.event_streams;
drop table core.event_types;
