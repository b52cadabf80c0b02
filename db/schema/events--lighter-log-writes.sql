-- The event log costs its writers less, with the same guarantees. Every booking writes two rows
-- here at commit; what each row paid for and did not need:
--
-- * events_hotel (hotel_id, id) had no reader: consumers, the dispatcher, the reports and
--   /metrics walk the log by (order_xid, id) (events_order), look an event up by its event_id or
--   its key, and replay a time range by occurred_at (events_occurred); a reader's hotel filter
--   and the row-level security read hotel_id on the rows that walk reaches. Dropped.
-- * the foreign key of hotel_id to core.hotels ran a query per row, locking the hotel's row. The
--   rule it enforced, an event's hotel exists, has its home where the hotel id comes from: an
--   event is written only by internal.emit_events, with the hotel of the row whose change it
--   reports (a reservation, stay, room, block, order, feedback, conflict, external-PMS hotel),
--   in that change's transaction; that row's own foreign key proves the hotel and keeps it from
--   being deleted while the row exists. Dropped.
-- * four inline checks (an object payload, a positive sequence and schema version, an order
--   position not before the writing transaction) were prepared again by every insert: one
--   check calling core.event_is_well_formed, PL/pgSQL, prepared once per session (see
--   reservation--stay-canonical-once.sql). Same rows pass.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Applied outside a transaction (the revision says TRANSACTION = False): the check is added NOT
-- VALID under a brief lock (new rows are checked at once) and the rows already there validated
-- under SHARE UPDATE EXCLUSIVE while events are written; the index dropped concurrently. Each
-- statement can run again after a failure part way.
-- migrate:up
create or replace function core.event_is_well_formed(
    p_payload        jsonb,
    p_aggregate_seq  bigint,
    p_schema_version smallint,
    p_order_xid      xid8,
    p_txid           xid8
) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return jsonb_typeof(p_payload) = 'object'
       and p_aggregate_seq > 0
       and p_schema_version > 0
       and p_order_xid >= p_txid;
end
$$;
comment on function core.event_is_well_formed(jsonb, bigint, smallint, xid8, xid8) is
    'True when an event row is well formed: its payload a JSON object, its aggregate sequence and schema version positive, its order position (order_xid) not before its writing transaction (txid). The check of core.events.';
alter function core.event_is_well_formed(jsonb, bigint, smallint, xid8, xid8) owner to hotelcore_owner;
revoke execute on function core.event_is_well_formed(jsonb, bigint, smallint, xid8, xid8) from public;

alter table core.events
    drop constraint if exists events_well_formed,
    add constraint events_well_formed
        check (core.event_is_well_formed(payload, aggregate_seq, schema_version, order_xid, txid)) not valid;
alter table core.events validate constraint events_well_formed;
alter table core.events
    drop constraint if exists events_payload_is_object,
    drop constraint if exists events_aggregate_seq_positive,
    drop constraint if exists events_schema_version_positive,
    drop constraint if exists events_order_xid_not_before_txid;
alter table core.events drop constraint if exists events_hotel_id_fkey;
drop index concurrently if exists core.events_hotel;

-- migrate:down
-- as revision 0006 wrote them
create index concurrently if not exists events_hotel on core.events (hotel_id, id);
alter table core.events
    drop constraint if exists events_hotel_id_fkey,
    add constraint events_hotel_id_fkey foreign key (hotel_id) references core.hotels (id) on delete restrict not valid;
alter table core.events validate constraint events_hotel_id_fkey;
alter table core.events
    drop constraint if exists events_payload_is_object,
    drop constraint if exists events_aggregate_seq_positive,
    drop constraint if exists events_schema_version_positive,
    drop constraint if exists events_order_xid_not_before_txid,
    add constraint events_payload_is_object check (pg_catalog.jsonb_typeof(payload) = 'object') not valid,
    add constraint events_aggregate_seq_positive check (aggregate_seq > 0) not valid,
    add constraint events_schema_version_positive check (schema_version > 0) not valid,
    add constraint events_order_xid_not_before_txid check (order_xid >= txid) not valid;
alter table core.events validate constraint events_payload_is_object;
alter table core.events validate constraint events_aggregate_seq_positive;
alter table core.events validate constraint events_schema_version_positive;
alter table core.events validate constraint events_order_xid_not_before_txid;
alter table core.events drop constraint if exists events_well_formed;
drop function if exists core.event_is_well_formed(jsonb, bigint, smallint, xid8, xid8);
