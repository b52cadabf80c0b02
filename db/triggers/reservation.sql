-- Triggers of the reservation ledger: the status machine, versions, and calendar capacity.

-- The status machine (seed 003): pending -> confirmed -> checked_in -> checked_out, plus
-- cancelled (from pending or confirmed) and no_show (from confirmed). Anything else is refused,
-- whoever writes the row.
create function internal.tg_reservations__guard_status() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if new.status is distinct from old.status
       and (old.status::text, new.status::text) not in (
           ('pending', 'confirmed'), ('pending', 'cancelled'),
           ('confirmed', 'checked_in'), ('confirmed', 'cancelled'), ('confirmed', 'no_show'),
           ('checked_in', 'checked_out')) then
        perform internal.raise_error('INVALID_STATE_TRANSITION',
            format('reservation %s: %s -> %s', old.id, old.status, new.status),
            'follow pending -> confirmed -> checked_in -> checked_out, or cancel / mark no-show');
    end if;
    return new;
end
$$;
comment on function internal.tg_reservations__guard_status() is 'Refuses a reservation status change outside the status machine (INVALID_STATE_TRANSITION).';

create trigger _100_guard_status
before update of status on core.reservations
for each row execute function internal.tg_reservations__guard_status();

-- Every change is a new version (optimistic locking, seed 000) stamped with the movable clock.
create function internal.tg_reservations__bump_version() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    new.version := old.version + 1;
    new.updated_at := internal.now();
    return new;
end
$$;
comment on function internal.tg_reservations__bump_version() is 'Adds one to a reservation''s version and stamps updated_at on every update.';

create trigger _110_bump_version
before update on core.reservations
for each row execute function internal.tg_reservations__bump_version();

-- A hold keeps its prices per room in typed columns (holds_prices_per_room_present). The previous
-- release's functions wrote them into the quote document only, and may still insert a hold while
-- a deploy replaces them: such a row gets its typed prices from that document. Fires for no hold
-- this release writes (WHEN); goes with the quote column.
create function internal.tg_holds__prices_from_quote() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    new.subtotal_per_room := coalesce((new.quote ->> 'subtotal')::numeric, 0);
    new.los_discount_per_room := coalesce((new.quote ->> 'length_of_stay_discount')::numeric, 0);
    new.member_discount_per_room := coalesce((new.quote ->> 'member_discount')::numeric, 0);
    new.tax_per_room := coalesce((new.quote ->> 'tax')::numeric, 0);
    return new;
end
$$;
comment on function internal.tg_holds__prices_from_quote() is
    'Fills a hold''s typed prices per room from its quote document when a writer of the previous release gave only the document.';

create trigger _040_prices_from_quote
before insert on core.holds
for each row when (new.subtotal_per_room is null and new.quote <> '{}'::jsonb)
execute function internal.tg_holds__prices_from_quote();

-- Calendar capacity follows the active rooms of a type from the hotel's today on (past nights
-- keep what they had). The check on core.inventory refuses a change that would oversell.
create function internal.tg_rooms__sync_capacity() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.active then
        update core.inventory i set capacity = i.capacity - 1
        where i.hotel_id = old.hotel_id and i.room_type_id = old.room_type_id
          and i.night >= internal.hotel_today(old.hotel_id);
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.active then
        update core.inventory i set capacity = i.capacity + 1
        where i.hotel_id = new.hotel_id and i.room_type_id = new.room_type_id
          and i.night >= internal.hotel_today(new.hotel_id);
    end if;
    return null;
end
$$;
comment on function internal.tg_rooms__sync_capacity() is 'Keeps core.inventory.capacity equal to the active rooms of the type for today and later nights.';

create trigger _100_sync_capacity
after insert or delete or update of active, room_type_id on core.rooms
for each row execute function internal.tg_rooms__sync_capacity();

-- The chain search's exception nights (core.inventory_exceptions) follow the calendar. The WHEN
-- clauses let the triggers fire only when a night's flags (core.inventory_exception_flags) change:
-- a booking that does not sell the last room runs no trigger function.
create function internal.tg_inventory__track_exceptions() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_flags boolean[];
begin
    if tg_op in ('UPDATE', 'DELETE') then
        delete from core.inventory_exceptions x
        where x.hotel_id = old.hotel_id and x.night = old.night and x.room_type_id = old.room_type_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        v_flags := core.inventory_exception_flags(new);
        if true = any(v_flags) then
            insert into core.inventory_exceptions
                (hotel_id, night, room_type_id, sold_out, stop_sell, arrival_rules, closed_to_departure)
            values (new.hotel_id, new.night, new.room_type_id, v_flags[1], v_flags[2], v_flags[3], v_flags[4]);
        end if;
    end if;
    return null;
end
$$;
comment on function internal.tg_inventory__track_exceptions() is
    'Writes a night''s row of core.inventory_exceptions again when its flags (core.inventory_exception_flags) change: listed while one is true, gone when none is or the night is deleted.';

create trigger _200_track_exceptions_insert
after insert on core.inventory
for each row when (true = any(core.inventory_exception_flags(new)))
execute function internal.tg_inventory__track_exceptions();

-- Whether an update changes a night's flags. A trigger's WHEN clause is prepared again by every
-- statement, and a SQL function inlined into it is read back from its stored body each time: the
-- flags compared inline (the flags' and the sellable rooms' bodies, of the old and the new row)
-- cost about 40 us per update statement (half of a three-night update). In PL/pgSQL the comparison
-- is prepared once per session and costs a function call per row.
create function internal.inventory_flags_changed(p_old core.inventory, p_new core.inventory) returns boolean
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
    return core.inventory_exception_flags(p_old) is distinct from core.inventory_exception_flags(p_new);
end
$$;
comment on function internal.inventory_flags_changed(core.inventory, core.inventory) is
    'True when the night''s exception flags (core.inventory_exception_flags) differ between the two rows: the WHEN clause of the inventory''s update trigger.';

create trigger _200_track_exceptions_update
after update on core.inventory
for each row when (internal.inventory_flags_changed(old, new))
execute function internal.tg_inventory__track_exceptions();

create trigger _200_track_exceptions_delete
after delete on core.inventory
for each row when (true = any(core.inventory_exception_flags(old)))
execute function internal.tg_inventory__track_exceptions();

-- A confirmation code is unique across the chain (a guest quotes it without naming the hotel):
-- the reservations keep it unique per hotel, and core.confirmation_codes, a chain-wide lookup,
-- holds each code once with its hotel, written in the reservation's transaction. A second
-- reservation with a code the chain already gave fails on the lookup's primary key (23505). A new
-- reservation's code is written by internal.tg_reservations__new_records (below, with the other
-- records of a new reservation); a changed or deleted one is moved here.
create function internal.tg_reservations__confirmation_code() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from core.confirmation_codes c
    where c.confirmation_code = old.confirmation_code and c.hotel_id = old.hotel_id;
    if tg_op = 'UPDATE' then
        insert into core.confirmation_codes (confirmation_code, hotel_id, reservation_id)
        values (new.confirmation_code, new.hotel_id, new.id);
    end if;
    return null;
end
$$;
comment on function internal.tg_reservations__confirmation_code() is
    'Moves a changed or deleted reservation''s confirmation code in the chain-wide lookup core.confirmation_codes (a code the chain already gave: 23505 on its primary key).';

create trigger _100_confirmation_code
after delete or update of confirmation_code, hotel_id on core.reservations
for each row execute function internal.tg_reservations__confirmation_code();
comment on trigger _100_confirmation_code on core.reservations is
    'A confirmation code is unique across the chain: kept in core.confirmation_codes (a new reservation''s by _100_new_records).';

-- The records every new reservation leaves, written by one statement per insert statement (a
-- booking writes each once, a set-based load stays set-based, and the three cost one statement):
-- its confirmation code in the chain-wide lookup core.confirmation_codes (a code the chain already
-- gave: 23505 on its primary key), its folio in its currency (one per reservation:
-- folios_one_per_reservation, the only key a new folio can meet) and its audit row (the keys of
-- the row, who inserted it: internal.audit_actor, and when). A statement trigger fires after the
-- row triggers, so the audit row comes last, as internal.audit_change's do.
create function internal.tg_reservations__new_records() returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_now timestamptz := internal.now();
begin
    with codes as (
        insert into core.confirmation_codes (confirmation_code, hotel_id, reservation_id)
        select n.confirmation_code, n.hotel_id, n.id from new_rows n
    ), folios as (
        insert into core.folios (hotel_id, reservation_id, currency, opened_at)
        select n.hotel_id, n.id, n.currency, v_now from new_rows n
        on conflict do nothing
    )
    insert into core.audit_log (at, entity, entity_id, hotel_id, action, changed, db_role, login_role, app_user,
                                api_key_id)
    select v_now, 'reservation', n.id, n.hotel_id, 'insert', '{}', a.db_role, a.login_role, a.app_user, a.api_key_id
    from new_rows n cross join internal.audit_actor() a
    order by n.id;
    return null;
end
$$;
comment on function internal.tg_reservations__new_records() is
    'After reservations are inserted, in one statement: each one''s confirmation code in core.confirmation_codes, its folio in its currency, and its audit row in core.audit_log.';

create trigger _100_new_records
after insert on core.reservations
referencing new table as new_rows
for each statement
execute function internal.tg_reservations__new_records();
comment on trigger _100_new_records on core.reservations is
    'A new reservation''s chain-wide confirmation code, folio and audit row (internal.tg_reservations__new_records).';
