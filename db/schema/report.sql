-- The schemas of the replaceable objects, and the materialized report views.
--
-- api, internal and report hold the functions, triggers and views of db/functions, db/triggers and
-- db/views, which the migration runner keeps object by object after the versioned revisions. The
-- materialized views below hold data: they are versioned like tables, changed by a new schema file
-- (never recomputed by a deploy that does not change them), and refreshed on purpose by
-- api.refresh_reports() (db/views/report.sql). Conventions of every report view: db/views/report.sql.

-- migrate:up
-- Releases up to revision 0015 dropped and rebuilt these three schemas at every upgrade; this
-- revision rebuilds them once more (a database of such a release holds them, a new one does not),
-- and from here on each object is replaced only when it changes.
drop schema if exists api cascade;
drop schema if exists internal cascade;
drop schema if exists report cascade;
create schema api;
comment on schema api is 'hotelcore callable surface: SECURITY DEFINER functions and views granted to the client systems.';
create schema internal;
comment on schema internal is 'hotelcore helpers and trigger functions; not granted to clients.';
create schema report;
comment on schema report is 'hotelcore reporting views for BI tools.';

-- The revenue fact: one row per hotel, day, origin and currency. Two sources, added up:
--   ledger: every room line occupying a night; its nights not yet posted get the share of the
--           line's amount the night audit will post (cumulative rounding over the nightly prices,
--           tax = amount * rate / (1 + rate) spread the same way; see internal.post_room_nights);
--   folios: the lines posted, room nights and their taxes on their night, everything else on its
--           business date (or the hotel-local date it was posted when the hotel has none yet).
create materialized view report.revenue_daily_by_origin as
with line_nights as (
    select l.hotel_id, r.origin, r.currency, lower(l.stay) + (u.ord - 1)::integer as day,
           l.status = 'checked_out'
           or (l.status = 'checked_in'
               and exists (select 1 from core.folio_lines fl
                           where fl.folio_id = (select f.id from core.folios f where f.reservation_id = l.reservation_id)
                             and fl.reservation_room_id = l.id
                             and fl.night = lower(l.stay) + (u.ord - 1)::integer and fl.kind = 'room_night')) as posted,
           case when u.weight > 0 then
               round(l.amount * u.cum_to / u.weight, c.minor_units) - round(l.amount * u.cum_from / u.weight, c.minor_units)
           else 0 end as gross,
           case when u.weight > 0 then
               round(x.tax * u.cum_to / u.weight, c.minor_units) - round(x.tax * u.cum_from / u.weight, c.minor_units)
           else 0 end as tax
    from core.reservation_rooms l
    join core.reservations r on r.id = l.reservation_id
    join core.hotels h on h.id = l.hotel_id
    join core.currencies c on c.code = r.currency
    cross join lateral (select round(l.amount * h.tax_rate / (1 + h.tax_rate), c.minor_units) as tax) x
    cross join lateral (
        select n.ord,
               sum(n.price) over (order by n.ord) as cum_to,
               sum(n.price) over (order by n.ord) - n.price as cum_from,
               sum(n.price) over () as weight
        from unnest(l.nightly) with ordinality as n(price, ord)
    ) u
    where l.status in ('pending', 'confirmed', 'checked_in', 'checked_out')
),
ledger as (
    select n.hotel_id, n.day, n.origin, n.currency,
           count(*)::integer as rooms_sold,
           -- sum(gross) - sum(tax), not sum(gross - tax): the tax of each night is computed once (the
           -- two sum(n.tax) are one aggregate)
           coalesce(sum(n.gross) filter (where not n.posted), 0) - coalesce(sum(n.tax) filter (where not n.posted), 0)
               as room_revenue_unposted,
           coalesce(sum(n.tax) filter (where not n.posted), 0) as taxes_unposted
    from line_nights n
    group by n.hotel_id, n.day, n.origin, n.currency
),
folio as (
    select fl.hotel_id,
           case when fl.kind in ('room_night', 'tax') and fl.night is not null then fl.night
                else coalesce(fl.business_date, (fl.posted_at at time zone h.time_zone)::date) end as day,
           r.origin, fl.currency,
           coalesce(sum(fl.amount) filter (where fl.kind = 'room_night'), 0) as room_revenue,
           coalesce(sum(fl.amount) filter (where fl.kind = 'service'), 0) as service_revenue,
           coalesce(sum(fl.amount) filter (where fl.kind in ('cancellation_fee', 'no_show_fee', 'late_checkout_fee')), 0)
               as fee_revenue,
           coalesce(sum(fl.amount) filter (where fl.kind = 'adjustment'), 0) as adjustments,
           coalesce(sum(fl.amount) filter (where fl.kind = 'tax'), 0) as taxes
    from core.folio_lines fl
    join core.folios f on f.id = fl.folio_id
    join core.reservations r on r.id = f.reservation_id
    join core.hotels h on h.id = fl.hotel_id
    where fl.kind not in ('payment', 'refund')
    group by 1, 2, 3, 4
)
select coalesce(l.hotel_id, p.hotel_id) as hotel_id,
       coalesce(l.day, p.day) as day,
       coalesce(l.origin, p.origin) as origin,
       coalesce(l.currency, p.currency) as currency,
       coalesce(l.rooms_sold, 0) as rooms_sold,
       coalesce(p.room_revenue, 0) + coalesce(l.room_revenue_unposted, 0) as room_revenue,
       coalesce(l.room_revenue_unposted, 0) as room_revenue_unposted,
       coalesce(p.service_revenue, 0) as service_revenue,
       coalesce(p.fee_revenue, 0) as fee_revenue,
       coalesce(p.adjustments, 0) as adjustments,
       coalesce(p.taxes, 0) + coalesce(l.taxes_unposted, 0) as taxes,
       coalesce(l.taxes_unposted, 0) as taxes_unposted,
       coalesce(p.room_revenue, 0) + coalesce(l.room_revenue_unposted, 0) + coalesce(p.service_revenue, 0)
       + coalesce(p.fee_revenue, 0) + coalesce(p.adjustments, 0) + coalesce(p.taxes, 0) + coalesce(l.taxes_unposted, 0)
           as total_revenue
from ledger l
full join folio p on p.hotel_id = l.hotel_id and p.day = l.day and p.origin = l.origin and p.currency = l.currency
with data;
create unique index revenue_daily_by_origin_key on report.revenue_daily_by_origin (hotel_id, day, origin, currency);
-- the whole chain over a period (a dashboard's "this month, every hotel"): the unique index leads on
-- hotel_id and would be skipped through once per hotel
create index revenue_daily_by_origin_day on report.revenue_daily_by_origin (day);
comment on materialized view report.revenue_daily_by_origin is
    'Materialized (api.refresh_reports). Revenue per hotel, day and booking origin (member, pms, ota, direct) in the hotel''s currency: folio lines posted, plus the ledger''s booked amount for nights not posted yet (future stays, in-house nights before the audit). Grain: hotel x day x origin x currency.';
comment on column report.revenue_daily_by_origin.hotel_id is 'The hotel.';
comment on column report.revenue_daily_by_origin.day is 'Hotel-local date: the night for room nights and their tax, the business date for services, fees and adjustments.';
comment on column report.revenue_daily_by_origin.origin is 'Where the reservation came from (seed 000): member, pms, ota or direct.';
comment on column report.revenue_daily_by_origin.currency is 'ISO currency of every amount on the row.';
comment on column report.revenue_daily_by_origin.rooms_sold is 'Room lines of this origin occupying the night.';
comment on column report.revenue_daily_by_origin.room_revenue is 'Room charges net of tax: room-night folio lines posted, plus room_revenue_unposted.';
comment on column report.revenue_daily_by_origin.room_revenue_unposted is 'Part of room_revenue not on a folio yet: the ledger''s booked amount for the night, net of tax, as the night audit will post it.';
comment on column report.revenue_daily_by_origin.service_revenue is 'Service charges posted (room service, minibar, ...).';
comment on column report.revenue_daily_by_origin.fee_revenue is 'Cancellation, no-show and late check-out fees posted.';
comment on column report.revenue_daily_by_origin.adjustments is 'Adjustments posted (allowances are negative, e.g. a waived no-show fee).';
comment on column report.revenue_daily_by_origin.taxes is 'Taxes: tax folio lines posted, plus taxes_unposted.';
comment on column report.revenue_daily_by_origin.taxes_unposted is 'Part of taxes not on a folio yet (the tax share of room_revenue_unposted).';
comment on column report.revenue_daily_by_origin.total_revenue is 'room_revenue + service_revenue + fee_revenue + adjustments + taxes (seed 000''s room_charges + service_charges + taxes, plus fees and adjustments). Payments and refunds are never revenue.';

create materialized view report.revenue_daily as
with rooms as (
    select i.hotel_id, i.night as day, h.currency,
           sum(i.capacity - i.blocked)::integer as rooms_available
    from core.inventory i
    join core.hotels h on h.id = i.hotel_id
    group by i.hotel_id, i.night, h.currency
),
money as (
    select o.hotel_id, o.day, o.currency,
           sum(o.rooms_sold)::integer as rooms_sold,
           sum(o.room_revenue) as room_revenue, sum(o.room_revenue_unposted) as room_revenue_unposted,
           sum(o.service_revenue) as service_revenue, sum(o.fee_revenue) as fee_revenue,
           sum(o.adjustments) as adjustments, sum(o.taxes) as taxes, sum(o.taxes_unposted) as taxes_unposted,
           sum(o.total_revenue) as total_revenue
    from report.revenue_daily_by_origin o
    group by o.hotel_id, o.day, o.currency
)
select d.hotel_id, d.day, d.currency, d.rooms_available, d.rooms_sold,
       round(d.rooms_sold::numeric / nullif(d.rooms_available, 0), 4) as occupancy,
       d.room_revenue, d.room_revenue_unposted, d.service_revenue, d.fee_revenue, d.adjustments, d.taxes,
       d.taxes_unposted, d.total_revenue,
       round(d.room_revenue / nullif(d.rooms_sold, 0), c.minor_units) as adr,
       round(d.room_revenue / nullif(d.rooms_available, 0), c.minor_units) as revpar
from (
    select coalesce(r.hotel_id, m.hotel_id) as hotel_id, coalesce(r.day, m.day) as day,
           coalesce(r.currency, m.currency) as currency,
           coalesce(r.rooms_available, 0) as rooms_available, coalesce(m.rooms_sold, 0) as rooms_sold,
           coalesce(m.room_revenue, 0) as room_revenue, coalesce(m.room_revenue_unposted, 0) as room_revenue_unposted,
           coalesce(m.service_revenue, 0) as service_revenue, coalesce(m.fee_revenue, 0) as fee_revenue,
           coalesce(m.adjustments, 0) as adjustments, coalesce(m.taxes, 0) as taxes,
           coalesce(m.taxes_unposted, 0) as taxes_unposted, coalesce(m.total_revenue, 0) as total_revenue
    from rooms r
    full join money m on m.hotel_id = r.hotel_id and m.day = r.day and m.currency = r.currency
) d
join core.currencies c on c.code = d.currency
with data;
create unique index revenue_daily_key on report.revenue_daily (hotel_id, day, currency);
create index revenue_daily_day on report.revenue_daily (day);
comment on materialized view report.revenue_daily is
    'Materialized (api.refresh_reports; refresh after report.revenue_daily_by_origin, which it reads). Seed 000''s daily analytics per hotel and day in the hotel''s currency: occupancy, ADR, RevPAR, room, service, fee and tax revenue (definitions as in report.revenue_daily_by_origin). Grain: hotel x day x currency.';
comment on column report.revenue_daily.hotel_id is 'The hotel.';
comment on column report.revenue_daily.day is 'Hotel-local date (the night for rooms).';
comment on column report.revenue_daily.currency is 'ISO currency of every amount on the row.';
comment on column report.revenue_daily.rooms_available is 'Rooms of every type that could be sold that night: active rooms minus rooms out on room blocks.';
comment on column report.revenue_daily.rooms_sold is 'Room lines occupying the night.';
comment on column report.revenue_daily.occupancy is 'rooms_sold / rooms_available, 4 decimals; null when nothing is available.';
comment on column report.revenue_daily.room_revenue is 'Room charges net of tax (posted, plus the ledger''s amount for nights not posted yet).';
comment on column report.revenue_daily.room_revenue_unposted is 'Part of room_revenue taken from the ledger because the night is not on a folio yet.';
comment on column report.revenue_daily.service_revenue is 'Service charges posted that business date.';
comment on column report.revenue_daily.fee_revenue is 'Cancellation, no-show and late check-out fees posted that business date.';
comment on column report.revenue_daily.adjustments is 'Adjustments posted that business date (negative: allowances).';
comment on column report.revenue_daily.taxes is 'Taxes (posted, plus the tax share of nights not posted yet).';
comment on column report.revenue_daily.taxes_unposted is 'Part of taxes taken from the ledger.';
comment on column report.revenue_daily.total_revenue is 'room_revenue + service_revenue + fee_revenue + adjustments + taxes.';
comment on column report.revenue_daily.adr is 'Average daily rate: room_revenue / rooms_sold, rounded to the currency''s minor units; null without rooms sold.';
comment on column report.revenue_daily.revpar is 'Revenue per available room: room_revenue / rooms_available, rounded to the currency''s minor units.';

-- Every room line puts each of its nights on the books on the hotel-local date it was created,
-- and a cancelled line takes them off on the date the reservation was cancelled. The ledger keeps
-- no journal of date changes: a modified stay counts with its current nights from its creation,
-- and nights given back by an early departure are not in the history.
create materialized view report.booking_pace as
-- Room lines alike for the pace (same hotel, nights, booking date and cancellation date) are counted
-- first and their nights expanded once (a group booking, the same stay sold twice a day): the
-- per-night rows, the costly part, are as many as distinct stays, not as room lines.
with lines as (
    select l.hotel_id, l.stay,
           (l.created_at at time zone h.time_zone)::date as booked_on,
           l.status = 'cancelled' as cancelled,
           case when l.status = 'cancelled'
                then (coalesce(r.cancelled_at, r.updated_at) at time zone h.time_zone)::date end as cancelled_on,
           count(*)::integer as lines
    from core.reservation_rooms l
    join core.reservations r on r.id = l.reservation_id
    join core.hotels h on h.id = l.hotel_id
    group by 1, 2, 3, 4, 5
),
changes as (
    -- every line puts its nights on the books on its booking date; a cancelled one takes them off
    select c.hotel_id, c.stay, c.as_of_date,
           sum(c.picked_up)::integer as picked_up, sum(c.cancelled)::integer as cancelled
    from (
        select s.hotel_id, s.stay, s.booked_on as as_of_date, s.lines as picked_up, 0 as cancelled
        from lines s
        union all
        select s.hotel_id, s.stay, s.cancelled_on, 0, s.lines
        from lines s
        where s.cancelled
    ) c
    group by c.hotel_id, c.stay, c.as_of_date
),
daily as (
    select e.hotel_id, e.stay_date, e.as_of_date,
           sum(e.picked_up)::integer as rooms_picked_up, sum(e.cancelled)::integer as rooms_cancelled
    from (
        -- the nights as date + offset, the series in the select list (one row per night, no
        -- function scan per stay)
        select c.hotel_id, lower(c.stay) + generate_series(0, upper(c.stay) - lower(c.stay) - 1) as stay_date,
               c.as_of_date, c.picked_up, c.cancelled
        from changes c
    ) e
    group by e.hotel_id, e.stay_date, e.as_of_date
)
select d.hotel_id, d.stay_date, d.as_of_date, d.stay_date - d.as_of_date as days_before_arrival,
       d.rooms_picked_up, d.rooms_cancelled, d.rooms_picked_up - d.rooms_cancelled as net_pickup,
       (sum(d.rooms_picked_up - d.rooms_cancelled)
            over (partition by d.hotel_id, d.stay_date order by d.as_of_date))::integer as rooms_on_books
from daily d
with data;
create unique index booking_pace_key on report.booking_pace (hotel_id, stay_date, as_of_date);
comment on materialized view report.booking_pace is
    'Materialized (api.refresh_reports). Booking pace and pickup: for each hotel and stay date, one row per hotel-local date on which rooms for it were booked or cancelled, with the rooms on the books at the end of that date. No-shows stay on the books (they were sold); a modified stay counts with its current nights. Grain: hotel x stay date x as-of date.';
comment on column report.booking_pace.hotel_id is 'The hotel.';
comment on column report.booking_pace.stay_date is 'The night booked.';
comment on column report.booking_pace.as_of_date is 'Hotel-local date the bookings or cancellations were made.';
comment on column report.booking_pace.days_before_arrival is 'stay_date - as_of_date (0 = booked for tonight).';
comment on column report.booking_pace.rooms_picked_up is 'Room nights for stay_date booked on as_of_date (room lines created that day).';
comment on column report.booking_pace.rooms_cancelled is 'Room nights for stay_date cancelled on as_of_date.';
comment on column report.booking_pace.net_pickup is 'rooms_picked_up - rooms_cancelled.';
comment on column report.booking_pace.rooms_on_books is 'Rooms on the books for stay_date at the end of as_of_date: net pickup of every date up to it.';

-- Every versioned object goes to hotelcore_owner (why: db/views/grants.sql, which hands over the
-- replaceable ones): the schemas, core's tables, sequences of their own and functions, the
-- materialized views. A later schema file hands over what it creates itself.
do $$
declare
    v_object record;
begin
    for v_object in
        select format('schema %I', n.nspname) as name
        from pg_catalog.pg_namespace n
        where n.nspname in ('core', 'api', 'internal', 'report') and n.nspowner <> 'hotelcore_owner'::regrole
        union all
        select format('%s %I.%I', case c.relkind when 'm' then 'materialized view' when 'S' then 'sequence'
                                                 else 'table' end, n.nspname, c.relname)
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where ((n.nspname = 'core' and c.relkind in ('r', 'p', 'S')) or (n.nspname = 'report' and c.relkind = 'm'))
          and c.relowner <> 'hotelcore_owner'::regrole
          -- an identity or serial sequence follows its table
          and not exists (select 1 from pg_catalog.pg_depend d
                          where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
        union all
        select format('function %s', p.oid::regprocedure)
        from pg_catalog.pg_proc p
        where p.pronamespace = 'core'::regnamespace and p.proowner <> 'hotelcore_owner'::regrole
    loop
        execute format('alter %s owner to hotelcore_owner', v_object.name);
    end loop;
end
$$;

-- the client systems reach api and report; internal and core stay closed
grant usage on schema api to hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_admin, hotelcore_service,
    hotelcore_bi;
grant usage on schema report to hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi, hotelcore_admin;
-- the row-level security policies call it as the reader of a view
grant execute on function core.hotel_scope() to hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi,
    hotelcore_admin;

-- migrate:down
revoke execute on function core.hotel_scope() from hotelcore_member, hotelcore_pms, hotelcore_saas, hotelcore_bi,
    hotelcore_admin;
-- what this file handed over goes back to the migrating role
reassign owned by hotelcore_owner to current_user;
drop materialized view report.booking_pace;
drop materialized view report.revenue_daily;
drop materialized view report.revenue_daily_by_origin;
drop schema report;
drop schema internal;
drop schema api;
