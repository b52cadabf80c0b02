-- The rooms of a night that can still be sold, written once: capacity plus the overbooking
-- allowance, less what room blocks, holds and bookings take. Every reader of the calendar
-- (search, quote, hold, the chain search's exception flags, the calendar views) asks
-- core.inventory_sellable; the table's check inventory_booked_within_capacity keeps it at or above
-- zero. Plain SQL with a standard body (bound when created, no settings), so the planner inlines
-- it into the caller's query and into the triggers' WHEN clauses: no call per row.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create function core.inventory_sellable(i core.inventory) returns integer
language sql
immutable
parallel safe
return i.capacity + i.overbooking_allowance - i.blocked - i.held - i.booked;
comment on function core.inventory_sellable(core.inventory) is
    'Rooms of the night that can still be sold: capacity + overbooking_allowance - blocked - held - booked (expired holds not reclaimed yet still counted in held; callers add them back where live holds only count).';
alter function core.inventory_sellable(core.inventory) owner to hotelcore_owner;
revoke execute on function core.inventory_sellable(core.inventory) from public;
-- a view calls functions as its reader (and the planner inlines them only for a reader allowed to
-- run them): the readers of the calendar views may; it is a pure expression, granting it shows no data
grant execute on function core.inventory_sellable(core.inventory)
    to hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi, hotelcore_admin;

-- the chain search's exception flags ask it too (same flags otherwise). A standard body: bound
-- now, so inlining it into a report view does not look core.inventory_sellable up again with the
-- privileges of the view's reader, who has no access to schema core.
create or replace function core.inventory_exception_flags(i core.inventory) returns boolean[]
language sql
immutable
parallel safe
return array[core.inventory_sellable(i) < 1,
             i.stop_sell,
             i.closed_to_arrival or i.min_stay is not null or i.max_stay is not null,
             i.closed_to_departure];

-- migrate:down
create or replace function core.inventory_exception_flags(i core.inventory) returns boolean[]
language sql
immutable
parallel safe
as $$
    select array[i.capacity + i.overbooking_allowance - i.blocked - i.booked - i.held < 1,
                 i.stop_sell,
                 i.closed_to_arrival or i.min_stay is not null or i.max_stay is not null,
                 i.closed_to_departure]
$$;
drop function if exists core.inventory_sellable(core.inventory);
