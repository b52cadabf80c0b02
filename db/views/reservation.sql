-- Views of the reservation ledger.

-- The invariant every test and audit checks: each counter equals a recount from the rows it
-- summarises, and no night is oversold.
-- A stay's nights are counted as date + integer offsets: generate_series over timestamps (a time
-- zone conversion for each night) costs a quarter more on a year of bookings.
create view report.inventory_recount with (security_invoker = false) as
with held as (
    select l.hotel_id, l.room_type_id, lower(l.stay) + n.k as night,
           count(*)::integer as held,
           (count(*) filter (where h.expires_at > internal.now()))::integer as live_held
    from core.holds h
    inner join core.hold_lines l on h.id = l.hold_id
    cross join generate_series(0, upper(l.stay) - lower(l.stay) - 1) as n(k)
    where h.status = 'active'
    group by 1, 2, 3
),
booked as (
    select l.hotel_id, l.room_type_id, lower(l.stay) + n.k as night, count(*)::integer as booked
    from core.reservation_rooms l
    cross join generate_series(0, upper(l.stay) - lower(l.stay) - 1) as n(k)
    where l.status in ('pending', 'confirmed', 'checked_in', 'checked_out')
    group by 1, 2, 3
)
select i.hotel_id, i.room_type_id, i.night, i.capacity, i.overbooking_allowance, i.blocked,
       i.held, coalesce(h.held, 0) as held_recount, coalesce(h.live_held, 0) as live_held,
       i.booked, coalesce(b.booked, 0) as booked_recount,
       core.inventory_sellable(i) + i.held - coalesce(h.live_held, 0) as sellable,
       core.inventory_sellable(i) < 0 as oversold,
       i.held <> coalesce(h.held, 0) or i.booked <> coalesce(b.booked, 0) as drifted
from core.inventory i
left join held h on i.hotel_id = h.hotel_id and i.room_type_id = h.room_type_id and i.night = h.night
left join booked b on i.hotel_id = b.hotel_id and i.room_type_id = b.room_type_id and i.night = b.night;
comment on view report.inventory_recount is
    'Per room type and night: counters next to their recount from active holds and occupying reservation lines, what is sellable (live holds only), and whether the night is oversold or a counter drifted. Audits expect no row with oversold or drifted.';
comment on column report.inventory_recount.hotel_id is 'The hotel.';
comment on column report.inventory_recount.room_type_id is 'The room type.';
comment on column report.inventory_recount.night is 'The night.';
comment on column report.inventory_recount.capacity is 'Active rooms of the type (counter).';
comment on column report.inventory_recount.overbooking_allowance is 'Rooms that may be sold beyond capacity.';
comment on column report.inventory_recount.blocked is 'Rooms out on room blocks (counter).';
comment on column report.inventory_recount.held is 'The held counter.';
comment on column report.inventory_recount.held_recount is 'Hold lines of active holds on this night (recount of held).';
comment on column report.inventory_recount.live_held is 'Hold lines of active holds not yet expired (what really counts as taken).';
comment on column report.inventory_recount.booked is 'The booked counter.';
comment on column report.inventory_recount.booked_recount is 'Occupying reservation lines on this night (recount of booked).';
comment on column report.inventory_recount.sellable is 'Rooms that can still be sold: capacity + allowance - blocked - booked - live holds.';
comment on column report.inventory_recount.oversold is 'True when blocked + held + booked exceed capacity + allowance (never, by constraint).';
comment on column report.inventory_recount.drifted is 'True when held or booked differs from its recount.';

-- The chain search's exception nights (core.inventory_exceptions, kept by triggers) recounted from
-- the calendar: every night listed or flagged now, the flags side by side.
create view report.inventory_exception_recount with (security_invoker = false) as
with flagged as (
    select i.hotel_id, i.room_type_id, i.night, x.flags
    from core.inventory as i
    cross join lateral (select core.inventory_exception_flags(i) as flags) as x
    where true = any(x.flags)
)
-- a listed night has a flag set (inventory_exceptions_flag_set), a flagged one too: comparing the
-- flags with a missing side read as false also finds a night on one side only
select coalesce(e.hotel_id, f.hotel_id) as hotel_id,
       coalesce(e.room_type_id, f.room_type_id) as room_type_id,
       coalesce(e.night, f.night) as night,
       e.hotel_id is not null as listed,
       e.sold_out, e.stop_sell, e.arrival_rules, e.closed_to_departure,
       coalesce(f.flags[1], false) as sold_out_recount,
       coalesce(f.flags[2], false) as stop_sell_recount,
       coalesce(f.flags[3], false) as arrival_rules_recount,
       coalesce(f.flags[4], false) as closed_to_departure_recount,
       coalesce(e.sold_out, false) <> coalesce(f.flags[1], false)
       or coalesce(e.stop_sell, false) <> coalesce(f.flags[2], false)
       or coalesce(e.arrival_rules, false) <> coalesce(f.flags[3], false)
       or coalesce(e.closed_to_departure, false) <> coalesce(f.flags[4], false) as drifted
from core.inventory_exceptions as e
full join flagged as f on e.hotel_id = f.hotel_id and e.room_type_id = f.room_type_id and e.night = f.night;
comment on view report.inventory_exception_recount is
    'The nights the chain search treats as exceptions (core.inventory_exceptions) next to the flags the calendar gives now: every night listed there or flagged now. Audits expect no row with drifted.';
comment on column report.inventory_exception_recount.hotel_id is 'The hotel.';
comment on column report.inventory_exception_recount.room_type_id is 'The room type.';
comment on column report.inventory_exception_recount.night is 'The night.';
comment on column report.inventory_exception_recount.listed is 'True when the night is in core.inventory_exceptions.';
comment on column report.inventory_exception_recount.sold_out is 'Listed: no room sellable by the counters (null when not listed).';
comment on column report.inventory_exception_recount.stop_sell is 'Listed: stop-sell (null when not listed).';
comment on column report.inventory_exception_recount.arrival_rules is 'Listed: closed to arrival, or a minimum or maximum stay (null when not listed).';
comment on column report.inventory_exception_recount.closed_to_departure is 'Listed: closed to departure (null when not listed).';
comment on column report.inventory_exception_recount.sold_out_recount is 'From the calendar now: capacity + allowance - blocked - booked - held < 1.';
comment on column report.inventory_exception_recount.stop_sell_recount is 'From the calendar now: stop-sell.';
comment on column report.inventory_exception_recount.arrival_rules_recount is 'From the calendar now: closed to arrival, or a minimum or maximum stay.';
comment on column report.inventory_exception_recount.closed_to_departure_recount is 'From the calendar now: closed to departure.';
comment on column report.inventory_exception_recount.drifted is 'True when the listed flags differ from the calendar''s (a night listed but no longer flagged, or flagged but not listed, included).';

-- What a client sees of the calendar: sellable rooms (live holds only), restrictions and the rack rate.
create view api.inventory_calendar with (security_invoker = false) as
select i.hotel_id, i.room_type_id, i.night, i.capacity, i.blocked, i.booked,
       core.inventory_sellable(i) + coalesce((
           select count(*) from core.holds h inner join core.hold_lines l on h.id = l.hold_id
           where h.hotel_id = i.hotel_id and h.status = 'active' and h.expires_at <= internal.now()
             and l.room_type_id = i.room_type_id and l.stay @> i.night), 0)::integer as sellable,
       i.stop_sell, i.min_stay, i.max_stay, i.closed_to_arrival, i.closed_to_departure, i.overbooking_allowance,
       i.rack_rate, i.rate_source
from core.inventory i;
comment on view api.inventory_calendar is
    'The sale calendar per room type and night: sellable rooms (expired holds not counted), restrictions, overbooking allowance and the rack rate.';
