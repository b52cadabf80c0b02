-- A stay is canonical: written once, core.nights_are_canonical, which the checks of the five
-- tables holding a stay call (reservations, reservation_rooms, hold_lines, waitlist_entries,
-- checkout_sagas); each check keeps its name, so an error names the same constraint as before.
-- PL/pgSQL, not inlined SQL: a table's checks are prepared again by every write statement, and an
-- inlined SQL function is read back from its stored body each time (about 9 us per single-row
-- write, against 2 us for a call whose expression PL/pgSQL prepares once per session; the formula
-- spelled in the check cost 5 us). Same rows pass as before: the function's body is the formula.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Applied outside a transaction (the revision says TRANSACTION = False), one table at a time:
-- the first statement swaps a table's check under a brief lock, NOT VALID (new rows are checked at
-- once); the second validates the rows already there under SHARE UPDATE EXCLUSIVE, while bookings
-- go on. Each statement can run again after a failure part way.
-- migrate:up
create or replace function core.nights_are_canonical(p_nights daterange) returns boolean
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
begin
    return not isempty(p_nights) and lower_inc(p_nights) and not upper_inc(p_nights)
               and not lower_inf(p_nights) and not upper_inf(p_nights);
end
$$;
comment on function core.nights_are_canonical(daterange) is
    'True when a span of nights is canonical: not empty, both ends finite, the first night included and the end (the day after the last night) excluded. The check of every stay.';
alter function core.nights_are_canonical(daterange) owner to hotelcore_owner;
revoke execute on function core.nights_are_canonical(daterange) from public;

alter table core.hold_lines
    drop constraint if exists hold_lines_stay_is_canonical,
    add constraint hold_lines_stay_is_canonical check (core.nights_are_canonical(stay)) not valid;
alter table core.hold_lines validate constraint hold_lines_stay_is_canonical;
alter table core.reservations
    drop constraint if exists reservations_stay_is_canonical,
    add constraint reservations_stay_is_canonical check (core.nights_are_canonical(stay)) not valid;
alter table core.reservations validate constraint reservations_stay_is_canonical;
alter table core.reservation_rooms
    drop constraint if exists reservation_rooms_stay_is_canonical,
    add constraint reservation_rooms_stay_is_canonical check (core.nights_are_canonical(stay)) not valid;
alter table core.reservation_rooms validate constraint reservation_rooms_stay_is_canonical;
alter table core.waitlist_entries
    drop constraint if exists waitlist_entries_stay_is_canonical,
    add constraint waitlist_entries_stay_is_canonical check (core.nights_are_canonical(stay)) not valid;
alter table core.waitlist_entries validate constraint waitlist_entries_stay_is_canonical;
alter table core.checkout_sagas
    drop constraint if exists checkout_sagas_stay_is_canonical,
    add constraint checkout_sagas_stay_is_canonical check (core.nights_are_canonical(stay)) not valid;
alter table core.checkout_sagas validate constraint checkout_sagas_stay_is_canonical;

-- migrate:down
-- the released checks, as revision 0002 wrote them
alter table core.hold_lines
    drop constraint if exists hold_lines_stay_is_canonical,
    add constraint hold_lines_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                      and not lower_inf(stay) and not upper_inf(stay)) not valid;
alter table core.hold_lines validate constraint hold_lines_stay_is_canonical;
alter table core.reservations
    drop constraint if exists reservations_stay_is_canonical,
    add constraint reservations_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                        and not lower_inf(stay) and not upper_inf(stay)) not valid;
alter table core.reservations validate constraint reservations_stay_is_canonical;
alter table core.reservation_rooms
    drop constraint if exists reservation_rooms_stay_is_canonical,
    add constraint reservation_rooms_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                             and not lower_inf(stay) and not upper_inf(stay)) not valid;
alter table core.reservation_rooms validate constraint reservation_rooms_stay_is_canonical;
alter table core.waitlist_entries
    drop constraint if exists waitlist_entries_stay_is_canonical,
    add constraint waitlist_entries_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                            and not lower_inf(stay) and not upper_inf(stay)) not valid;
alter table core.waitlist_entries validate constraint waitlist_entries_stay_is_canonical;
alter table core.checkout_sagas
    drop constraint if exists checkout_sagas_stay_is_canonical,
    add constraint checkout_sagas_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                          and not lower_inf(stay) and not upper_inf(stay)) not valid;
alter table core.checkout_sagas validate constraint checkout_sagas_stay_is_canonical;
drop function if exists core.nights_are_canonical(daterange);
