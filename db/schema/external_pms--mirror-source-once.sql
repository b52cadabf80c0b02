-- Where mirror data came from (import, poll, fetch, webhook, booking) is written once,
-- core.mirror_source_is_known: the source checks of the five mirror tables call it (names kept),
-- and so does internal.require_mirror_source, which refuses an unknown source before a write.
-- Same rows pass as before; each check calls it
-- (PL/pgSQL: see reservation--stay-canonical-once.sql for why a check function is not inlined SQL).
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Applied outside a transaction (the revision says TRANSACTION = False), one table at a time:
-- the check swapped NOT VALID under a brief lock (new rows are checked at once), then the rows
-- already there validated under SHARE UPDATE EXCLUSIVE while syncs go on. Each statement can
-- run again after a failure part way.
-- migrate:up
create or replace function core.mirror_source_is_known(p_source text) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return p_source in ('import', 'poll', 'fetch', 'webhook', 'booking');
end
$$;
comment on function core.mirror_source_is_known(text) is
    'True when p_source names where mirror data came from: import, poll, fetch, webhook or booking. The source check of the mirror tables and internal.require_mirror_source.';
alter function core.mirror_source_is_known(text) owner to hotelcore_owner;
revoke execute on function core.mirror_source_is_known(text) from public;

alter table core.pms_room_types
    drop constraint if exists pms_room_types_source,
    add constraint pms_room_types_source check (core.mirror_source_is_known(source)) not valid;
alter table core.pms_room_types validate constraint pms_room_types_source;
alter table core.pms_rate_plans
    drop constraint if exists pms_rate_plans_source,
    add constraint pms_rate_plans_source check (core.mirror_source_is_known(source)) not valid;
alter table core.pms_rate_plans validate constraint pms_rate_plans_source;
alter table core.pms_inventory
    drop constraint if exists pms_inventory_source,
    add constraint pms_inventory_source check (core.mirror_source_is_known(source)) not valid;
alter table core.pms_inventory validate constraint pms_inventory_source;
alter table core.pms_rates
    drop constraint if exists pms_rates_source,
    add constraint pms_rates_source check (core.mirror_source_is_known(source)) not valid;
alter table core.pms_rates validate constraint pms_rates_source;
alter table core.pms_reservations
    drop constraint if exists pms_reservations_source,
    add constraint pms_reservations_source check (core.mirror_source_is_known(source)) not valid;
alter table core.pms_reservations validate constraint pms_reservations_source;

-- migrate:down
-- the released checks, as revision 0010 wrote them
alter table core.pms_room_types
    drop constraint if exists pms_room_types_source,
    add constraint pms_room_types_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking')) not valid;
alter table core.pms_room_types validate constraint pms_room_types_source;
alter table core.pms_rate_plans
    drop constraint if exists pms_rate_plans_source,
    add constraint pms_rate_plans_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking')) not valid;
alter table core.pms_rate_plans validate constraint pms_rate_plans_source;
alter table core.pms_inventory
    drop constraint if exists pms_inventory_source,
    add constraint pms_inventory_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking')) not valid;
alter table core.pms_inventory validate constraint pms_inventory_source;
alter table core.pms_rates
    drop constraint if exists pms_rates_source,
    add constraint pms_rates_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking')) not valid;
alter table core.pms_rates validate constraint pms_rates_source;
alter table core.pms_reservations
    drop constraint if exists pms_reservations_source,
    add constraint pms_reservations_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking')) not valid;
alter table core.pms_reservations validate constraint pms_reservations_source;
drop function if exists core.mirror_source_is_known(text);
