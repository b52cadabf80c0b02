-- The chain search's own calendar (issue 3). A search over a city or a chain would otherwise read
-- every night of every room type of every hotel for the stay (62,000 rows for 100 hotels and
-- 30 nights); these two tables let a one-room search read only what can change its answer.
--
--   core.inventory_exceptions  the nights that can stop a one-room stay: sold out by the counters
--                              (expired holds not reclaimed yet included), stop-sell, an arrival
--                              rule (closed to arrival, min or max stay) or closed to departure,
--                              with those four flags. Kept exact by row triggers on core.inventory
--                              that fire only when a flag changes, so bookings' in-place counter
--                              updates stay cheap.
--   core.rate_calendar         per rate plan and month, running sums of the nightly price
--                              round(rack_rate * multiplier + supplement) in the currency's minor
--                              units and of the open nights: element k (1-based) sums the nights of
--                              [month, month + k - 1), so a stay's subtotal is two array reads per
--                              month. Written by the functions that write rates, open the calendar
--                              or add a rate plan (internal.rebuild_rate_calendar).
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
-- plain SQL without settings, so the planner inlines it into the triggers' WHEN clauses
create function core.inventory_exception_flags(i core.inventory) returns boolean[]
language sql
immutable
as $$
    select array[i.capacity + i.overbooking_allowance - i.blocked - i.booked - i.held < 1,
                 i.stop_sell,
                 i.closed_to_arrival or i.min_stay is not null or i.max_stay is not null,
                 i.closed_to_departure]
$$;
comment on function core.inventory_exception_flags(core.inventory) is
    'A night''s flags in core.inventory_exceptions: {sold out by the counters, stop-sell, arrival rule, closed to departure}; the night is listed when one is true.';
revoke execute on function core.inventory_exception_flags(core.inventory) from public;

create table core.inventory_exceptions (
    hotel_id            bigint not null,
    night               date not null,
    room_type_id        bigint not null,
    sold_out            boolean not null,
    stop_sell           boolean not null,
    arrival_rules       boolean not null,
    closed_to_departure boolean not null,
    primary key (hotel_id, night, room_type_id),
    constraint inventory_exceptions_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint inventory_exceptions_flag_set check (sold_out or stop_sell or arrival_rules or closed_to_departure)
);
comment on table core.inventory_exceptions is
    'The nights of core.inventory that can stop a one-room stay, with why (core.inventory_exception_flags; kept by triggers): besides core.rate_calendar, all a one-room chain search reads.';
comment on column core.inventory_exceptions.sold_out is 'No room sellable by the counters (expired holds not reclaimed yet still counted).';
comment on column core.inventory_exceptions.arrival_rules is 'Closed to arrival, or a minimum or maximum stay: matters when the night is the arrival.';

create table core.rate_calendar (
    hotel_id     bigint not null,
    month        date not null,
    room_type_id bigint not null,
    rate_plan_id bigint not null,
    price_sums   bigint[] not null,
    open_sums    integer[] not null,
    primary key (hotel_id, month, room_type_id, rate_plan_id),
    constraint rate_calendar_rate_plan_fk foreign key (hotel_id, room_type_id, rate_plan_id)
        references core.rate_plans (hotel_id, room_type_id, id) on delete cascade,
    constraint rate_calendar_month_is_first_day check (extract(day from month) = 1),
    constraint rate_calendar_sums_cover_the_month check (
        cardinality(price_sums) = (month + interval '1 month')::date - month + 1
        and cardinality(open_sums) = cardinality(price_sums))
);
comment on table core.rate_calendar is
    'Per rate plan and month: running sums of the nightly price in minor units (price_sums[k] = nights of [month, month + k - 1)) and of the open nights (open_sums), so a stay''s subtotal and open nights are two array reads per month.';

do $$
declare
    v_table text;
begin
    foreach v_table in array array['inventory_exceptions', 'rate_calendar'] loop
        execute format('alter table core.%I enable row level security', v_table);
        execute format('alter table core.%I force row level security', v_table);
        execute format('create policy %I on core.%I using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true))',
                       v_table || '_in_hotel_scope', v_table);
    end loop;
end
$$;

-- an existing calendar: its exceptions and rate sums (new ones are kept by the functions)
insert into core.inventory_exceptions
    (hotel_id, night, room_type_id, sold_out, stop_sell, arrival_rules, closed_to_departure)
select i.hotel_id, i.night, i.room_type_id, x.f[1] as sold_out, x.f[2] as stop_sell, x.f[3] as arrival_rules,
       x.f[4] as closed_to_departure
from core.inventory i
cross join lateral (select core.inventory_exception_flags(i) as f) x
where true = any(x.f);

with nights as (
    select rp.hotel_id, rp.room_type_id, rp.id as rate_plan_id, date_trunc('month', i.night)::date as month,
           i.night - date_trunc('month', i.night)::date as k,
           (round(i.rack_rate * rp.price_multiplier + rp.price_supplement, cur.minor_units)
            * power(10::numeric, cur.minor_units))::bigint as price
    from core.rate_plans rp
    inner join core.hotels h on rp.hotel_id = h.id
    inner join core.currencies cur on h.currency = cur.code
    inner join core.inventory i on rp.hotel_id = i.hotel_id and rp.room_type_id = i.room_type_id
),
days as (
    select m.hotel_id, m.room_type_id, m.rate_plan_id, m.month, g.k
    from (select distinct n.hotel_id, n.room_type_id, n.rate_plan_id, n.month from nights n) m
    cross join generate_series(0, (m.month + interval '1 month')::date - m.month) as g(k)
),
sums as (
    select d.hotel_id, d.room_type_id, d.rate_plan_id, d.month, d.k,
           coalesce(sum(n.price) over w, 0) as price_sum, count(n.price) over w as open_sum
    from days d
    left join nights n on d.rate_plan_id = n.rate_plan_id and d.month = n.month and d.k = n.k
    window w as (partition by d.rate_plan_id, d.month order by d.k rows between unbounded preceding and 1 preceding)
)
insert into core.rate_calendar (hotel_id, month, room_type_id, rate_plan_id, price_sums, open_sums)
select s.hotel_id, s.month, s.room_type_id, s.rate_plan_id,
       array_agg(s.price_sum::bigint order by s.k) as price_sums,
       array_agg(s.open_sum::integer order by s.k) as open_sums
from sums s
group by s.hotel_id, s.month, s.room_type_id, s.rate_plan_id
order by s.hotel_id, s.month, s.room_type_id, s.rate_plan_id;

-- migrate:down
drop table if exists core.rate_calendar;
drop table if exists core.inventory_exceptions;
drop function if exists core.inventory_exception_flags(core.inventory);
