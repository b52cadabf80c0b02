-- A line's guests are at least one adult and no negative number of children: written once,
-- core.guests_are_valid, which the guests checks of hold lines, booked rooms and waitlist
-- entries call (names kept). Same rows pass as before; each check calls it
-- (PL/pgSQL: see reservation--stay-canonical-once.sql for why a check function is not inlined SQL).
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Applied outside a transaction (the revision says TRANSACTION = False), one table at a time:
-- the check swapped NOT VALID under a brief lock (new rows are checked at once), then the rows
-- already there validated under SHARE UPDATE EXCLUSIVE while bookings go on. Each statement can
-- run again after a failure part way.
-- migrate:up
create or replace function core.guests_are_valid(p_adults integer, p_children integer) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return p_adults >= 1 and p_children >= 0;
end
$$;
comment on function core.guests_are_valid(integer, integer) is
    'True when a room''s guests are possible: at least one adult, no negative number of children. The guests check of hold lines, booked rooms and waitlist entries.';
alter function core.guests_are_valid(integer, integer) owner to hotelcore_owner;
revoke execute on function core.guests_are_valid(integer, integer) from public;

alter table core.hold_lines
    drop constraint if exists hold_lines_guests,
    add constraint hold_lines_guests check (core.guests_are_valid(adults, children)) not valid;
alter table core.hold_lines validate constraint hold_lines_guests;
alter table core.reservation_rooms
    drop constraint if exists reservation_rooms_guests,
    add constraint reservation_rooms_guests check (core.guests_are_valid(adults, children)) not valid;
alter table core.reservation_rooms validate constraint reservation_rooms_guests;
alter table core.waitlist_entries
    drop constraint if exists waitlist_entries_guests,
    add constraint waitlist_entries_guests check (core.guests_are_valid(adults, children)) not valid;
alter table core.waitlist_entries validate constraint waitlist_entries_guests;

-- migrate:down
-- the released checks, as revision 0002 wrote them
alter table core.hold_lines
    drop constraint if exists hold_lines_guests,
    add constraint hold_lines_guests check (adults >= 1 and children >= 0) not valid;
alter table core.hold_lines validate constraint hold_lines_guests;
alter table core.reservation_rooms
    drop constraint if exists reservation_rooms_guests,
    add constraint reservation_rooms_guests check (adults >= 1 and children >= 0) not valid;
alter table core.reservation_rooms validate constraint reservation_rooms_guests;
alter table core.waitlist_entries
    drop constraint if exists waitlist_entries_guests,
    add constraint waitlist_entries_guests check (adults >= 1 and children >= 0) not valid;
alter table core.waitlist_entries validate constraint waitlist_entries_guests;
drop function if exists core.guests_are_valid(integer, integer);
