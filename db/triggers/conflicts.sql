-- The customer history the conflict rules read (db/functions/conflicts.sql): every version of a
-- customer, however written (api functions, the rank trigger, merges), leaves one row in
-- core.customer_changes with the fields it changed.

create function internal.tg_customers__log_change() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- every version bump records which fields changed, from what to what
    insert into core.customer_changes (customer_id, version, system, changed_at, changes)
    select new.id, new.version, internal.change_system(), internal.now(),
           coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', o.value, 'new', n.value)), '{}'::jsonb)
    from jsonb_each(to_jsonb(new) - array['id', 'version', 'created_at', 'updated_at']) n
    join jsonb_each(to_jsonb(old)) o on o.key = n.key
    where n.value is distinct from o.value
    on conflict (customer_id, version) do nothing;
    return null;
end
$$;
comment on function internal.tg_customers__log_change() is
    'After a customer''s version changes: one core.customer_changes row with each changed field''s old and new value, the caller''s system and the time.';

create trigger _100_log_change
    after update on core.customers
    for each row
    when (new.version is distinct from old.version)
    execute function internal.tg_customers__log_change();

-- The reservation history the same rules read: every version of a reservation leaves one
-- core.reservation_changes row with its document and the fields that changed since the version
-- before. A room line inserted (the booking's first version) writes the document of the version
-- it belongs to; a new version is logged after the row changed (a writer changes the room lines
-- first, then the reservation: api.modify_reservation).
create function internal.tg_reservations__log_change() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_document jsonb := internal.reservation_document(new.id);
    v_previous jsonb;
begin
    select ch.document into v_previous from core.reservation_changes ch
    where ch.hotel_id = new.hotel_id and ch.reservation_id = new.id and ch.version = old.version;
    insert into core.reservation_changes (hotel_id, reservation_id, version, system, changed_at, document, changes)
    select new.hotel_id, new.id, new.version, internal.change_system(), internal.now(), v_document,
           coalesce((select jsonb_object_agg(n.key, jsonb_build_object('old', o.value, 'new', n.value))
                     from jsonb_each(v_document) n join jsonb_each(v_previous) o on o.key = n.key
                     where n.value is distinct from o.value), '{}'::jsonb)
    on conflict (hotel_id, reservation_id, version) do nothing;
    return null;
end
$$;
comment on function internal.tg_reservations__log_change() is
    'After a reservation''s version changes: one core.reservation_changes row with its document and each field changed since the version before (none known when that version was not logged), the caller''s system and the time.';

create trigger _120_log_change
    after update on core.reservations
    for each row
    when (new.version is distinct from old.version)
    execute function internal.tg_reservations__log_change();

create function internal.tg_reservation_rooms__log_document() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_system text := internal.change_system();
begin
    -- the version each reservation of the new lines is at gets (or refreshes) its document: one
    -- statement per insert statement, so a booking writes one row and a bulk load stays set-based
    -- (the ids as an array: an index scan of core.reservations whatever the plan cached first)
    insert into core.reservation_changes (hotel_id, reservation_id, version, system, changed_at, document, changes)
    select r.hotel_id, r.id, r.version, v_system, internal.now(), internal.reservation_document(r.id), '{}'
    from core.reservations r
    where r.id = any (array(select distinct n.reservation_id from new_rows n))
    on conflict (hotel_id, reservation_id, version) do update set document = excluded.document;
    return null;
end
$$;
comment on function internal.tg_reservation_rooms__log_document() is
    'After room lines are inserted: the document of each of their reservations'' current version in core.reservation_changes (the first version of a booking is logged here), one statement per insert.';

create trigger _120_log_document
    after insert on core.reservation_rooms
    referencing new table as new_rows
    for each statement
    execute function internal.tg_reservation_rooms__log_document();
