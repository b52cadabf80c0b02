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
