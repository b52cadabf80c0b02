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
    -- the document of the row as updated, with its first room line
    v_document jsonb := internal.reservation_document_of(new, (select l from internal.first_room_line(new.id) l));
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
    -- (the ids as an array: an index scan of core.reservations whatever the plan cached first);
    -- the document from the reservation row and its first line read here, once
    insert into core.reservation_changes (hotel_id, reservation_id, version, system, changed_at, document, changes)
    select r.hotel_id, r.id, r.version, v_system, internal.now(), internal.reservation_document_of(r, l), '{}'
    from core.reservations r
    left join lateral internal.first_room_line(r.id) l on true
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

-- The room history the same rules read: a room's version is the database's (one more exactly when
-- its document changes, whoever writes: api functions, the PMS import, maintenance), and every
-- version leaves one core.room_changes row with the fields that changed.
create function internal.tg_rooms__bump_version() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- a change of the document is a new version; anything else keeps the version it had
    new.version := old.version
        + case when internal.room_document(new) is distinct from internal.room_document(old) then 1 else 0 end;
    return new;
end
$$;
comment on function internal.tg_rooms__bump_version() is
    'Before a room is updated: its version is one more when its document (internal.room_document) changes, else unchanged; a writer cannot set it.';

create trigger _050_bump_version
    before update on core.rooms
    for each row
    execute function internal.tg_rooms__bump_version();

create function internal.tg_rooms__log_change() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    -- every version bump records which fields of the document changed, from what to what
    insert into core.room_changes (hotel_id, room_id, version, system, changed_at, changes)
    select new.hotel_id, new.id, new.version, internal.change_system(), internal.now(),
           coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', o.value, 'new', n.value)), '{}'::jsonb)
    from jsonb_each(internal.room_document(new)) n
    join jsonb_each(internal.room_document(old)) o on o.key = n.key
    where n.value is distinct from o.value
    on conflict (hotel_id, room_id, version) do nothing;
    return null;
end
$$;
comment on function internal.tg_rooms__log_change() is
    'After a room''s version changes: one core.room_changes row with each changed field''s old and new value, the caller''s system and the time.';

create trigger _120_log_change
    after update on core.rooms
    for each row
    when (new.version is distinct from old.version)
    execute function internal.tg_rooms__log_change();

-- core.conflicts is a view over the chain-wide customer conflicts and the hotel-owned reservation
-- and room conflicts (db/schema/conflicts--chain-and-hotel-tables.sql); a write through it goes
-- to the table of its row. What detection recorded (entity, before / theirs / ours, fields,
-- verdict, rule, escalation, suggestions) never changes; an update writes the resolution only.
create function internal.tg_conflicts__route_write() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_op = 'INSERT' then
        -- a customer conflict has no hotel; the table's checks refuse any other mix
        if new.hotel_id is null then
            insert into core.customer_conflicts
            select (pg_catalog.jsonb_populate_record(null::core.customer_conflicts, pg_catalog.to_jsonb(new))).*;
        else
            insert into core.hotel_conflicts
            select (pg_catalog.jsonb_populate_record(null::core.hotel_conflicts, pg_catalog.to_jsonb(new))).*;
        end if;
        return new;
    end if;
    if tg_op = 'DELETE' then
        delete from core.customer_conflicts c where old.hotel_id is null and c.id = old.id;
        delete from core.hotel_conflicts c where c.hotel_id = old.hotel_id and c.id = old.id;
        return old;
    end if;
    -- the record of detection is kept as it was
    if (pg_catalog.to_jsonb(new) - array['status', 'resolved_at', 'resolver', 'resolution_method', 'resolution_reason',
                                         'resolved_data', 'resolved_version'])
       is distinct from (pg_catalog.to_jsonb(old) - array['status', 'resolved_at', 'resolver', 'resolution_method',
                                                          'resolution_reason', 'resolved_data', 'resolved_version']) then
        perform internal.raise_error('INVALID_ARGUMENT', format('conflict %s: only its resolution may change', old.id),
            'resolve it with api.resolve_conflict');
    end if;
    if old.hotel_id is null then
        update core.customer_conflicts c
        set status = new.status, resolved_at = new.resolved_at, resolver = new.resolver,
            resolution_method = new.resolution_method, resolution_reason = new.resolution_reason,
            resolved_data = new.resolved_data, resolved_version = new.resolved_version
        where c.id = old.id;
    else
        update core.hotel_conflicts c
        set status = new.status, resolved_at = new.resolved_at, resolver = new.resolver,
            resolution_method = new.resolution_method, resolution_reason = new.resolution_reason,
            resolved_data = new.resolved_data, resolved_version = new.resolved_version
        where c.hotel_id = old.hotel_id and c.id = old.id;
    end if;
    return new;
end
$$;
comment on function internal.tg_conflicts__route_write() is
    'Instead of a write to the view core.conflicts: an insert goes to core.customer_conflicts (no hotel) or core.hotel_conflicts; an update changes the resolution only (status, resolver, method, reason, data, version), anything else of the detection record is refused; a delete removes the row.';

create trigger _100_route_write
    instead of insert or update or delete on core.conflicts
    for each row
    execute function internal.tg_conflicts__route_write();
