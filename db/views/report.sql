-- Reporting views for BI tools (seed 003's occupancy and revenue reports, seed 000's daily
-- analytics). Schema report is what psql, Metabase, Grafana or a spreadsheet read.
--
-- Conventions every view keeps:
--   * Dates are hotel-local: a night is the date it starts; an instant (booking, cancellation,
--     posting) is turned into a date in the hotel's time zone. A month is the date of its first day.
--     Loyalty data is not per hotel: its months are in UTC.
--   * Money is never summed across currencies: every money column sits on a row of one hotel (or
--     one currency) and the row says which currency.
--   * Rooms sold = reservation room lines occupying the night (status pending, confirmed,
--     checked_in or checked_out; cancelled and no-show lines free their nights). It equals
--     core.inventory.booked (report.inventory_recount checks it).
--   * Rooms available = active rooms of the type (inventory capacity) minus rooms out on room
--     blocks that night (out of order, maintenance, out of service: each takes the room out of sale).
--   * Revenue is what the folios hold (room nights, taxes, services, fees, adjustments; payments
--     and refunds are not revenue). Nights not yet posted to a folio (future stays, an in-house
--     night the audit has not closed) are taken from the ledger's booked amount, spread over the
--     nights exactly as the night audit will post it; the *_unposted columns say how much.
--   * Plain views unless reading them is expensive: those are materialized, with a unique index so
--     api.refresh_reports() refreshes them concurrently with readers.
--   * Plain views run as their owner (security_invoker = false): readers hold no right on core
--     tables. Row-level security still keeps each reader's hotels: the owner,
--     hotelcore_owner, is bound by FORCE ROW LEVEL SECURITY and the policies ask core.hotel_scope()
--     about the reader. Materialized views store rows without row-level security: they are not
--     granted to clients, who read them through the *_in_scope views and the monthly views, which
--     filter by core.hotel_scope() behind a security barrier.

-- ============================================================================ dimensions

-- What a BI tool joins the facts to: every view names its hotel and room type by these ids
-- (hotel_id, room_type_id), and readers hold no right on core.
create view report.hotels with (security_invoker = false) as
select h.id as hotel_id,
       h.code as hotel_code,
       h.name as hotel_name,
       h.city,
       h.country_code,
       h.time_zone,
       h.currency,
       h.tax_rate,
       h.prices_include_tax,
       h.business_date,
       h.active
from core.hotels h;
comment on view report.hotels is
    'The hotels the reader may see, one row each: the dimension every report view''s hotel_id refers to.';
comment on column report.hotels.hotel_id is 'The hotel (hotel_id in every report view).';
comment on column report.hotels.hotel_code is 'The hotel''s code, unique in the chain.';
comment on column report.hotels.hotel_name is 'The hotel''s name.';
comment on column report.hotels.city is 'City (the chain search''s city).';
comment on column report.hotels.country_code is 'ISO 3166-1 alpha-2 country code.';
comment on column report.hotels.time_zone is 'IANA time zone: every hotel-local date in the report views is in it.';
comment on column report.hotels.currency is 'ISO currency of the hotel''s prices and folios.';
comment on column report.hotels.tax_rate is 'Tax rate on room nights (0.1 = 10 %).';
comment on column report.hotels.prices_include_tax is 'True when prices and room revenue are quoted tax included.';
comment on column report.hotels.business_date is 'Date of the last night audit''s business day; null before the first.';
comment on column report.hotels.active is 'False for a hotel taken out of sale.';

create view report.room_types with (security_invoker = false) as
select t.hotel_id,
       t.id as room_type_id,
       t.code as room_type_code,
       t.name as room_type_name,
       t.max_occupancy,
       t.base_price,
       h.currency,
       t.size_sqm,
       coalesce(r.rooms, 0)::integer as rooms,
       coalesce(r.active_rooms, 0)::integer as active_rooms,
       t.active
from core.room_types t
inner join core.hotels h on t.hotel_id = h.id
left join (
    select m.room_type_id, count(*) as rooms, count(*) filter (where m.active) as active_rooms
    from core.rooms m
    group by m.room_type_id
) r on t.id = r.room_type_id;
comment on view report.room_types is
    'The room types the reader may see, with their rooms: the dimension every report view''s room_type_id refers to.';
comment on column report.room_types.hotel_id is 'The hotel.';
comment on column report.room_types.room_type_id is 'The room type (room_type_id in the report views).';
comment on column report.room_types.room_type_code is 'The room type''s code, unique in its hotel.';
comment on column report.room_types.room_type_name is 'The room type''s name.';
comment on column report.room_types.max_occupancy is 'Guests a room of the type takes.';
comment on column report.room_types.base_price is 'Base nightly price, before pricing rules and rate plans.';
comment on column report.room_types.currency is 'ISO currency of base_price (the hotel''s).';
comment on column report.room_types.size_sqm is 'Room size in square metres, when known.';
comment on column report.room_types.rooms is 'Rooms of the type.';
comment on column report.room_types.active_rooms is 'Of them, active (in the calendar''s capacity).';
comment on column report.room_types.active is 'False for a room type no longer sold.';

-- ============================================================================ occupancy

create view report.occupancy_daily with (security_invoker = false) as
select i.hotel_id,
       h.code as hotel_code,
       i.room_type_id,
       t.code as room_type_code,
       i.night,
       i.capacity as rooms_total,
       i.blocked as rooms_blocked,
       i.capacity - i.blocked as rooms_available,
       i.booked as rooms_sold,
       round(i.booked::numeric / nullif(i.capacity - i.blocked, 0), 4) as occupancy
from core.inventory i
inner join core.hotels h on i.hotel_id = h.id
inner join core.room_types t on i.room_type_id = t.id;
comment on view report.occupancy_daily is
    'Occupancy per hotel, room type and night of the open calendar: rooms sold / rooms available, rooms out on blocks (out of order) taken out of the denominator. Grain: hotel x room type x night.';
comment on column report.occupancy_daily.hotel_id is 'The hotel.';
comment on column report.occupancy_daily.hotel_code is 'The hotel''s code.';
comment on column report.occupancy_daily.room_type_id is 'The room type.';
comment on column report.occupancy_daily.room_type_code is 'The room type''s code.';
comment on column report.occupancy_daily.night is 'The night (hotel-local date it starts).';
comment on column report.occupancy_daily.rooms_total is 'Active rooms of the type that night (calendar capacity).';
comment on column report.occupancy_daily.rooms_blocked is 'Rooms of the type out on a room block that night (out of order, maintenance or out of service).';
comment on column report.occupancy_daily.rooms_available is 'Rooms that could be sold: rooms_total - rooms_blocked.';
comment on column report.occupancy_daily.rooms_sold is 'Room lines occupying the night (pending, confirmed, checked in, checked out).';
comment on column report.occupancy_daily.occupancy is 'rooms_sold / rooms_available, 4 decimals (0.8125 = 81.25 %); null when nothing is available; above 1 only when overbooked.';

create view report.occupancy_monthly with (security_invoker = false) as
select i.hotel_id,
       h.code as hotel_code,
       i.room_type_id,
       t.code as room_type_code,
       date_trunc('month', i.night::timestamp)::date as month,
       count(*)::integer as nights,
       sum(i.capacity)::integer as room_nights_total,
       sum(i.blocked)::integer as room_nights_blocked,
       sum(i.capacity - i.blocked)::integer as room_nights_available,
       sum(i.booked)::integer as room_nights_sold,
       round(sum(i.booked)::numeric / nullif(sum(i.capacity - i.blocked), 0), 4) as occupancy
from core.inventory i
inner join core.hotels h on i.hotel_id = h.id
inner join core.room_types t on i.room_type_id = t.id
group by i.hotel_id, h.code, i.room_type_id, t.code, date_trunc('month', i.night::timestamp);
comment on view report.occupancy_monthly is
    'Occupancy per hotel, room type and month (seed 003''s monthly occupancy, done right): room nights sold / room nights available, blocked (out-of-order) room nights out of the denominator. A stay across a month boundary counts each night in its own month. Grain: hotel x room type x month.';
comment on column report.occupancy_monthly.hotel_id is 'The hotel.';
comment on column report.occupancy_monthly.hotel_code is 'The hotel''s code.';
comment on column report.occupancy_monthly.room_type_id is 'The room type.';
comment on column report.occupancy_monthly.room_type_code is 'The room type''s code.';
comment on column report.occupancy_monthly.month is 'First day of the month.';
comment on column report.occupancy_monthly.nights is 'Nights of the month in the open calendar.';
comment on column report.occupancy_monthly.room_nights_total is 'Sum over the nights of the active rooms of the type.';
comment on column report.occupancy_monthly.room_nights_blocked is 'Sum over the nights of the rooms out on room blocks.';
comment on column report.occupancy_monthly.room_nights_available is 'room_nights_total - room_nights_blocked.';
comment on column report.occupancy_monthly.room_nights_sold is 'Sum over the nights of the room lines occupying them.';
comment on column report.occupancy_monthly.occupancy is 'room_nights_sold / room_nights_available, 4 decimals; null when nothing is available.';

-- ============================================================================ revenue

-- report.revenue_daily_by_origin and report.revenue_daily, the revenue facts, are materialized:
-- they hold data, so they are versioned DDL (db/schema/report.sql).


create view report.revenue_monthly with (security_invoker = false, security_barrier = true) as
select d.hotel_id, date_trunc('month', d.day::timestamp)::date as month, d.currency,
       sum(d.rooms_available)::integer as room_nights_available,
       sum(d.rooms_sold)::integer as room_nights_sold,
       round(sum(d.rooms_sold)::numeric / nullif(sum(d.rooms_available), 0), 4) as occupancy,
       sum(d.room_revenue) as room_revenue, sum(d.room_revenue_unposted) as room_revenue_unposted,
       sum(d.service_revenue) as service_revenue, sum(d.fee_revenue) as fee_revenue,
       sum(d.adjustments) as adjustments, sum(d.taxes) as taxes, sum(d.taxes_unposted) as taxes_unposted,
       sum(d.total_revenue) as total_revenue,
       round(sum(d.room_revenue) / nullif(sum(d.rooms_sold), 0), c.minor_units) as adr,
       round(sum(d.room_revenue) / nullif(sum(d.rooms_available), 0), c.minor_units) as revpar
from report.revenue_daily d
inner join core.currencies c on d.currency = c.code
where ((select core.hotel_scope()) is null or d.hotel_id = any((select core.hotel_scope())::bigint[]))  -- the reader's hotels
group by d.hotel_id, date_trunc('month', d.day::timestamp), d.currency, c.minor_units;
comment on view report.revenue_monthly is
    'Monthly occupancy, ADR, RevPAR and revenue per hotel in its currency, summed from report.revenue_daily (each night in its own month). Grain: hotel x month x currency.';
comment on column report.revenue_monthly.hotel_id is 'The hotel.';
comment on column report.revenue_monthly.month is 'First day of the month.';
comment on column report.revenue_monthly.currency is 'ISO currency of every amount on the row.';
comment on column report.revenue_monthly.room_nights_available is 'Sum over the days of the rooms available.';
comment on column report.revenue_monthly.room_nights_sold is 'Sum over the days of the rooms sold.';
comment on column report.revenue_monthly.occupancy is 'room_nights_sold / room_nights_available, 4 decimals.';
comment on column report.revenue_monthly.room_revenue is 'Room charges net of tax (posted, plus the ledger''s amount for nights not posted yet).';
comment on column report.revenue_monthly.room_revenue_unposted is 'Part of room_revenue taken from the ledger.';
comment on column report.revenue_monthly.service_revenue is 'Service charges posted.';
comment on column report.revenue_monthly.fee_revenue is 'Cancellation, no-show and late check-out fees posted.';
comment on column report.revenue_monthly.adjustments is 'Adjustments posted (negative: allowances).';
comment on column report.revenue_monthly.taxes is 'Taxes (posted, plus the tax share of nights not posted yet).';
comment on column report.revenue_monthly.taxes_unposted is 'Part of taxes taken from the ledger.';
comment on column report.revenue_monthly.total_revenue is 'room_revenue + service_revenue + fee_revenue + adjustments + taxes.';
comment on column report.revenue_monthly.adr is 'room_revenue / room_nights_sold, rounded to the currency''s minor units.';
comment on column report.revenue_monthly.revpar is 'room_revenue / room_nights_available, rounded to the currency''s minor units.';

create view report.revenue_by_origin_monthly with (security_invoker = false, security_barrier = true) as
select o.hotel_id, date_trunc('month', o.day::timestamp)::date as month, o.origin, o.currency,
       sum(o.rooms_sold)::integer as room_nights_sold,
       sum(o.room_revenue) as room_revenue, sum(o.room_revenue_unposted) as room_revenue_unposted,
       sum(o.service_revenue) as service_revenue, sum(o.fee_revenue) as fee_revenue,
       sum(o.adjustments) as adjustments, sum(o.taxes) as taxes, sum(o.total_revenue) as total_revenue,
       round(sum(o.room_revenue) / nullif(sum(o.rooms_sold), 0), c.minor_units) as adr
from report.revenue_daily_by_origin o
inner join core.currencies c on o.currency = c.code
where ((select core.hotel_scope()) is null or o.hotel_id = any((select core.hotel_scope())::bigint[]))  -- the reader's hotels
group by o.hotel_id, date_trunc('month', o.day::timestamp), o.origin, o.currency, c.minor_units;
comment on view report.revenue_by_origin_monthly is
    'Monthly room nights, ADR and revenue per hotel and booking origin (channel: member, pms, ota, direct) in the hotel''s currency, summed from report.revenue_daily_by_origin. Grain: hotel x month x origin x currency.';
comment on column report.revenue_by_origin_monthly.hotel_id is 'The hotel.';
comment on column report.revenue_by_origin_monthly.month is 'First day of the month.';
comment on column report.revenue_by_origin_monthly.origin is 'Where the reservations came from: member, pms, ota or direct.';
comment on column report.revenue_by_origin_monthly.currency is 'ISO currency of every amount on the row.';
comment on column report.revenue_by_origin_monthly.room_nights_sold is 'Room nights of this origin''s room lines in the month.';
comment on column report.revenue_by_origin_monthly.room_revenue is 'Room charges net of tax (posted, plus the ledger''s amount for nights not posted yet).';
comment on column report.revenue_by_origin_monthly.room_revenue_unposted is 'Part of room_revenue taken from the ledger.';
comment on column report.revenue_by_origin_monthly.service_revenue is 'Service charges posted to this origin''s folios.';
comment on column report.revenue_by_origin_monthly.fee_revenue is 'Cancellation, no-show and late check-out fees posted.';
comment on column report.revenue_by_origin_monthly.adjustments is 'Adjustments posted (negative: allowances).';
comment on column report.revenue_by_origin_monthly.taxes is 'Taxes (posted, plus the tax share of nights not posted yet).';
comment on column report.revenue_by_origin_monthly.total_revenue is 'room_revenue + service_revenue + fee_revenue + adjustments + taxes.';
comment on column report.revenue_by_origin_monthly.adr is 'room_revenue / room_nights_sold, rounded to the currency''s minor units.';

-- ============================================================================ booking pace

-- report.booking_pace, the pace fact, is materialized: versioned DDL (db/schema/report.sql).


-- ============================================================================ cancellations, lead time, length of stay

-- counted per hotel and arrival date first (the order of the index reservations_hotel_arrival), then
-- per month over those few rows, so the month is not computed for each reservation; rates, fees and
-- the average are the same sums and quotients as over the month's rows.
create view report.cancellations_monthly with (security_invoker = false) as
with arrivals as (
    select r.hotel_id, lower(r.stay) as arrival, r.currency,
           count(*) as reservations,
           count(*) filter (where r.status = 'cancelled') as cancellations,
           count(*) filter (where r.status = 'no_show') as no_shows,
           sum(c.fee_amount) filter (where c.kind = 'cancellation') as cancellation_fees,
           sum(c.fee_amount) filter (where c.kind = 'no_show') as no_show_fees,
           sum(c.refund_amount) filter (where c.kind = 'cancellation') as cancellation_refunds,
           sum(c.days_before_arrival) filter (where c.kind = 'cancellation') as days_before_arrival,
           count(c.days_before_arrival) filter (where c.kind = 'cancellation') as cancellations_timed
    from core.reservations r
    left join core.cancellations c on r.id = c.reservation_id
    group by r.hotel_id, lower(r.stay), r.currency
)
select a.hotel_id,
       date_trunc('month', a.arrival::timestamp)::date as arrival_month,
       a.currency,
       sum(a.reservations)::integer as reservations,
       sum(a.cancellations)::integer as cancellations,
       round(sum(a.cancellations) / sum(a.reservations), 4) as cancellation_rate,
       sum(a.no_shows)::integer as no_shows,
       round(sum(a.no_shows) / nullif(sum(a.reservations) - sum(a.cancellations), 0), 4) as no_show_rate,
       coalesce(sum(a.cancellation_fees), 0) as cancellation_fees,
       coalesce(sum(a.no_show_fees), 0) as no_show_fees,
       coalesce(sum(a.cancellation_refunds), 0) as cancellation_refunds,
       round(sum(a.days_before_arrival) / nullif(sum(a.cancellations_timed), 0), 1) as avg_days_before_arrival
from arrivals a
group by a.hotel_id, date_trunc('month', a.arrival::timestamp), a.currency;
comment on view report.cancellations_monthly is
    'Cancellations and no-shows per hotel and arrival month in the hotel''s currency: counts, rates and the fees the policies charged (core.cancellations; a waived no-show fee shows as an adjustment in the revenue views). Grain: hotel x arrival month x currency.';
comment on column report.cancellations_monthly.hotel_id is 'The hotel.';
comment on column report.cancellations_monthly.arrival_month is 'First day of the month of the arrival date.';
comment on column report.cancellations_monthly.currency is 'ISO currency of the amounts.';
comment on column report.cancellations_monthly.reservations is 'Reservations arriving in the month, whatever their status.';
comment on column report.cancellations_monthly.cancellations is 'Of them, cancelled.';
comment on column report.cancellations_monthly.cancellation_rate is 'cancellations / reservations, 4 decimals.';
comment on column report.cancellations_monthly.no_shows is 'Of them, marked no-show.';
comment on column report.cancellations_monthly.no_show_rate is 'no_shows / reservations not cancelled, 4 decimals.';
comment on column report.cancellations_monthly.cancellation_fees is 'Fees charged for the cancellations (policy).';
comment on column report.cancellations_monthly.no_show_fees is 'Fees charged for the no-shows (policy, before any waiver).';
comment on column report.cancellations_monthly.cancellation_refunds is 'Amounts owed back on cancellation: booked total - fee.';
comment on column report.cancellations_monthly.avg_days_before_arrival is 'Average days between cancellation and arrival (hotel-local dates), 1 decimal.';

create view report.lead_time_distribution with (security_invoker = false) as
-- the bucket is found once per reservation (width_bucket over the lower bounds 1, 4, 8, ...; a
-- lead time of 0 or less is bucket 0), the time zone conversion too; counted first, labelled after
with bookings as (
    select r.hotel_id, date_trunc('month', lower(r.stay)::timestamp)::date as arrival_month,
           upper(r.stay) - lower(r.stay) as nights,
           width_bucket(lower(r.stay) - (r.created_at at time zone h.time_zone)::date,
                        array[1, 4, 8, 15, 31, 61, 91, 181]) as bucket_no
    from core.reservations r
    inner join core.hotels h on r.hotel_id = h.id
    -- not cancelled, spelled as the statuses kept: behind row-level security, with no cancelled
    -- reservation in the statistics, the planner estimates "<>" as one row and loops over the hotels
    where r.status in ('pending', 'confirmed', 'checked_in', 'checked_out', 'no_show')
),
counted as (
    select b.hotel_id, b.arrival_month, b.bucket_no, count(*) as reservations, sum(b.nights) as room_nights
    from bookings b
    group by b.hotel_id, b.arrival_month, b.bucket_no
)
select c.hotel_id, c.arrival_month, k.bucket as lead_time, k.min_days, k.max_days,
       c.reservations::integer as reservations,
       c.room_nights::integer as room_nights,
       round(c.reservations::numeric / sum(c.reservations) over (partition by c.hotel_id, c.arrival_month), 4) as share
from counted c
inner join (values (0, '0', 0, 0), (1, '1-3', 1, 3), (2, '4-7', 4, 7), (3, '8-14', 8, 14), (4, '15-30', 15, 30),
             (5, '31-60', 31, 60), (6, '61-90', 61, 90), (7, '91-180', 91, 180), (8, '181+', 181, null))
     as k(bucket_no, bucket, min_days, max_days)
  on c.bucket_no = k.bucket_no;
comment on view report.lead_time_distribution is
    'Lead time (days between booking and arrival, hotel-local dates) of the reservations not cancelled, per hotel and arrival month, in buckets 0, 1-3, 4-7, 8-14, 15-30, 31-60, 61-90, 91-180, 181+. Grain: hotel x arrival month x bucket (empty buckets have no row).';
comment on column report.lead_time_distribution.hotel_id is 'The hotel.';
comment on column report.lead_time_distribution.arrival_month is 'First day of the month of the arrival date.';
comment on column report.lead_time_distribution.lead_time is 'Bucket label in days.';
comment on column report.lead_time_distribution.min_days is 'Smallest lead time of the bucket (sort by it).';
comment on column report.lead_time_distribution.max_days is 'Largest lead time of the bucket; null for the open last bucket.';
comment on column report.lead_time_distribution.reservations is 'Reservations (not cancelled) in the bucket.';
comment on column report.lead_time_distribution.room_nights is 'Their nights (stay length; one room line each counted once per reservation).';
comment on column report.lead_time_distribution.share is 'reservations / all the hotel''s reservations arriving that month, 4 decimals.';

create view report.length_of_stay_distribution with (security_invoker = false) as
select r.hotel_id,
       date_trunc('month', lower(r.stay)::timestamp)::date as arrival_month,
       upper(r.stay) - lower(r.stay) as nights,
       count(*)::integer as reservations,
       round(count(*)::numeric / sum(count(*)) over (partition by r.hotel_id, date_trunc('month', lower(r.stay)::timestamp)), 4) as share
from core.reservations r
where r.status in ('pending', 'confirmed', 'checked_in', 'checked_out', 'no_show')  -- not cancelled (see above)
group by r.hotel_id, date_trunc('month', lower(r.stay)::timestamp), upper(r.stay) - lower(r.stay);
comment on view report.length_of_stay_distribution is
    'Length of stay (nights) of the reservations not cancelled, per hotel and arrival month. Grain: hotel x arrival month x nights.';
comment on column report.length_of_stay_distribution.hotel_id is 'The hotel.';
comment on column report.length_of_stay_distribution.arrival_month is 'First day of the month of the arrival date.';
comment on column report.length_of_stay_distribution.nights is 'Nights of the stay (check-out - check-in; shortened by an early departure).';
comment on column report.length_of_stay_distribution.reservations is 'Reservations (not cancelled) of that length.';
comment on column report.length_of_stay_distribution.share is 'reservations / all the hotel''s reservations arriving that month, 4 decimals.';

-- ============================================================================ loyalty
-- Review averages per hotel and per room type are loyalty's report.review_averages_by_hotel and
-- report.review_averages_by_room_type (db/views/loyalty.sql); they are not repeated here.

create view report.members_per_rank with (security_invoker = false) as
select m.code as rank_code, m.name as rank_name, m.level,
       count(c.id)::integer as members,
       round(count(c.id)::numeric / nullif(sum(count(c.id)) over (), 0), 4) as share
from core.membership_ranks m
left join core.customers c on m.code = c.rank_code and c.is_member and c.merged_into is null
group by m.code, m.name, m.level;
comment on view report.members_per_rank is
    'Members per membership rank now (customers who joined, merged duplicates left out). Grain: rank.';
comment on column report.members_per_rank.rank_code is 'The rank.';
comment on column report.members_per_rank.rank_name is 'Its name.';
comment on column report.members_per_rank.level is 'Its level (0 = lowest); sort by it.';
comment on column report.members_per_rank.members is 'Members holding the rank.';
comment on column report.members_per_rank.share is 'members / all members, 4 decimals.';

create view report.rank_changes_monthly with (security_invoker = false) as
select date_trunc('month', h.changed_at at time zone 'UTC')::date as month,
       h.from_rank, h.to_rank, h.source,
       case when t.level > f.level then 'upgrade' else 'downgrade' end as direction,
       count(*)::integer as changes,
       count(distinct h.customer_id)::integer as customers
from core.rank_history h
inner join core.membership_ranks f on h.from_rank = f.code
inner join core.membership_ranks t on h.to_rank = t.code
group by date_trunc('month', h.changed_at at time zone 'UTC'), h.from_rank, h.to_rank, h.source, f.level, t.level;
comment on view report.rank_changes_monthly is
    'Membership rank changes per month (UTC), from rank, to rank and source (stays, manual, merge). Grain: month x from rank x to rank x source.';
comment on column report.rank_changes_monthly.month is 'First day of the month (UTC) of the change.';
comment on column report.rank_changes_monthly.from_rank is 'Rank before.';
comment on column report.rank_changes_monthly.to_rank is 'Rank after.';
comment on column report.rank_changes_monthly.source is 'stays (qualifying stays counted at check-out), manual or merge.';
comment on column report.rank_changes_monthly.direction is 'upgrade or downgrade (by rank level).';
comment on column report.rank_changes_monthly.changes is 'Number of changes.';
comment on column report.rank_changes_monthly.customers is 'Distinct customers changed.';

create view report.points_outstanding with (security_invoker = false) as
select date_trunc('month', l.expires_at at time zone 'UTC')::date as expiry_month,
       sum(l.remaining)::bigint as points,
       count(distinct l.customer_id)::integer as customers,
       count(*)::integer as lots,
       bool_or(l.expires_at <= internal.now()) as includes_overdue
from core.points_ledger l
where l.remaining > 0
group by date_trunc('month', l.expires_at at time zone 'UTC');
comment on view report.points_outstanding is
    'Points outstanding (the programme''s liability) by the month (UTC) their lots expire: the sum over all rows equals the sum of every customer''s balance. Grain: expiry month.';
comment on column report.points_outstanding.expiry_month is 'First day of the month (UTC) the lots expire.';
comment on column report.points_outstanding.points is 'Points not yet redeemed, adjusted away or expired.';
comment on column report.points_outstanding.customers is 'Customers holding them.';
comment on column report.points_outstanding.lots is 'Open lots (earn or credit entries with points remaining).';
comment on column report.points_outstanding.includes_overdue is 'True when some of these lots are past expiry but not yet swept by api.expire_points (still in the balances).';

-- ============================================================================ materialized views for clients

-- The stored rows of a materialized view escape row-level security: clients read these instead,
-- each the materialized view's rows of the reader's hotels, with its comments.
-- Two branches, each cheap: every row when the reader sees every hotel (a one-time test of the
-- scope, read once), else an index scan on the unique index, which leads on hotel_id.
create view report.revenue_daily_in_scope with (security_invoker = false, security_barrier = true) as
select m.* from report.revenue_daily m
where (select core.hotel_scope()) is null
union all
select m.* from report.revenue_daily m
where m.hotel_id = any((select core.hotel_scope())::bigint[]);
comment on view report.revenue_daily_in_scope is 'report.revenue_daily for the reader''s hotels (the materialized view itself is not granted to clients).';

create view report.revenue_daily_by_origin_in_scope with (security_invoker = false, security_barrier = true) as
select m.* from report.revenue_daily_by_origin m
where (select core.hotel_scope()) is null
union all
select m.* from report.revenue_daily_by_origin m
where m.hotel_id = any((select core.hotel_scope())::bigint[]);
comment on view report.revenue_daily_by_origin_in_scope is 'report.revenue_daily_by_origin for the reader''s hotels (the materialized view itself is not granted to clients).';

create view report.booking_pace_in_scope with (security_invoker = false, security_barrier = true) as
select m.* from report.booking_pace m
where (select core.hotel_scope()) is null
union all
select m.* from report.booking_pace m
where m.hotel_id = any((select core.hotel_scope())::bigint[]);
comment on view report.booking_pace_in_scope is 'report.booking_pace for the reader''s hotels (the materialized view itself is not granted to clients).';

do $$
declare
    v_column record;
begin
    for v_column in
        select v.relname as view_name, a.attname, pg_catalog.col_description(m.oid, a.attnum) as description
        from (values ('revenue_daily_in_scope', 'revenue_daily'),
                     ('revenue_daily_by_origin_in_scope', 'revenue_daily_by_origin'),
                     ('booking_pace_in_scope', 'booking_pace')) as x(view_name, matview)
        join pg_catalog.pg_class v on v.relname = x.view_name and v.relnamespace = 'report'::regnamespace
        join pg_catalog.pg_class m on m.relname = x.matview and m.relnamespace = 'report'::regnamespace
        join pg_catalog.pg_attribute a on a.attrelid = m.oid and a.attnum > 0 and not a.attisdropped
    loop
        execute format('comment on column report.%I.%I is %L', v_column.view_name, v_column.attname, v_column.description);
    end loop;
end
$$;

-- ============================================================================ sales without room counts

-- hotel-saas reads sales (売上・請求) but not room inventory (部屋在庫・状態): the revenue views carry
-- rooms available and sold, occupancy, ADR and RevPAR (each a room count given the revenue), and
-- the booking pace is room counts only. These views are the same rows with the money columns only;
-- they are projections of the views above, so every amount has one formula. The views with room
-- counts are granted to the systems holding both rights (db/views/grants.sql);
-- tests/test_catalog.py checks that no relation hotel-saas can read has a room-count column.
create view report.sales_daily_in_scope with (security_invoker = false, security_barrier = true) as
select d.hotel_id, d.day, d.currency, d.room_revenue, d.room_revenue_unposted, d.service_revenue, d.fee_revenue,
       d.adjustments, d.taxes, d.taxes_unposted, d.total_revenue
from report.revenue_daily_in_scope d;
comment on view report.sales_daily_in_scope is
    'Revenue per hotel and day in the hotel''s currency for the reader''s hotels, without room counts: report.revenue_daily_in_scope''s money columns (hotel-saas reads this one). Grain: hotel x day x currency.';

create view report.sales_daily_by_origin_in_scope with (security_invoker = false, security_barrier = true) as
select o.hotel_id, o.day, o.origin, o.currency, o.room_revenue, o.room_revenue_unposted, o.service_revenue,
       o.fee_revenue, o.adjustments, o.taxes, o.taxes_unposted, o.total_revenue
from report.revenue_daily_by_origin_in_scope o;
comment on view report.sales_daily_by_origin_in_scope is
    'Revenue per hotel, day and booking origin for the reader''s hotels, without room counts: report.revenue_daily_by_origin_in_scope''s money columns. Grain: hotel x day x origin x currency.';

create view report.sales_monthly with (security_invoker = false, security_barrier = true) as
select m.hotel_id, m.month, m.currency, m.room_revenue, m.room_revenue_unposted, m.service_revenue, m.fee_revenue,
       m.adjustments, m.taxes, m.taxes_unposted, m.total_revenue
from report.revenue_monthly m;
comment on view report.sales_monthly is
    'Monthly revenue per hotel in its currency for the reader''s hotels, without room counts: report.revenue_monthly''s money columns. Grain: hotel x month x currency.';

create view report.sales_by_origin_monthly with (security_invoker = false, security_barrier = true) as
select m.hotel_id, m.month, m.origin, m.currency, m.room_revenue, m.room_revenue_unposted, m.service_revenue,
       m.fee_revenue, m.adjustments, m.taxes, m.total_revenue
from report.revenue_by_origin_monthly m;
comment on view report.sales_by_origin_monthly is
    'Monthly revenue per hotel and booking origin for the reader''s hotels, without room counts: report.revenue_by_origin_monthly''s money columns. Grain: hotel x month x origin x currency.';

-- each column keeps the comment of the column it projects
do $$
declare
    v_column record;
begin
    for v_column in
        select x.view_name, a.attname, pg_catalog.col_description(s.oid, a.attnum) as description
        from (values ('sales_daily_in_scope', 'revenue_daily_in_scope'),
                     ('sales_daily_by_origin_in_scope', 'revenue_daily_by_origin_in_scope'),
                     ('sales_monthly', 'revenue_monthly'),
                     ('sales_by_origin_monthly', 'revenue_by_origin_monthly')) as x(view_name, source)
        join pg_catalog.pg_class v on v.relname = x.view_name and v.relnamespace = 'report'::regnamespace
        join pg_catalog.pg_class s on s.relname = x.source and s.relnamespace = 'report'::regnamespace
        join pg_catalog.pg_attribute a on a.attrelid = s.oid and a.attnum > 0 and not a.attisdropped
        where exists (select 1 from pg_catalog.pg_attribute c
                      where c.attrelid = v.oid and c.attname = a.attname and not c.attisdropped)
    loop
        execute format('comment on column report.%I.%I is %L', v_column.view_name, v_column.attname, v_column.description);
    end loop;
end
$$;

-- ============================================================================ refresh

-- Lives here, next to the materialized views it refreshes (it names them; a plpgsql body is
-- checked when it runs, so the order of the files would not matter either).
create function api.refresh_reports(p_view text default null)
returns table (materialized_view text, milliseconds numeric)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    -- in dependency order: report.revenue_daily reads report.revenue_daily_by_origin
    v_views   text[] := array['revenue_daily_by_origin', 'revenue_daily', 'booking_pace'];
    v_name    text;
    v_started timestamptz;
begin
    perform internal.require_right('maintenance.run');
    -- a refresh stores what its caller sees: only a caller that sees every hotel may run it
    perform internal.require_unrestricted_scope('refresh_reports');
    v_name := regexp_replace(p_view, '^report\.', '');
    if p_view is not null and not v_name = any(v_views) then
        perform internal.raise_error('INVALID_ARGUMENT',
            format('p_view %L is not a materialized view of schema report', p_view),
            format('pass one of %s, or null for all', array_to_string(v_views, ', ')));
    end if;
    foreach v_name in array v_views loop
        continue when p_view is not null and v_name <> regexp_replace(p_view, '^report\.', '');
        v_started := clock_timestamp();
        -- concurrently: readers keep reading the previous contents until the new ones commit
        execute format('refresh materialized view concurrently report.%I', v_name);
        materialized_view := 'report.' || v_name;
        milliseconds := round(extract(epoch from clock_timestamp() - v_started)::numeric * 1000, 1);
        return next;
    end loop;
end
$$;
comment on function api.refresh_reports(text) is
    'Refreshes the materialized report views (report.revenue_daily_by_origin, then report.revenue_daily which reads it, then report.booking_pace) concurrently with their readers, or only p_view (with or without "report."). Run it from a scheduler (e.g. after the night audit); each view is as fresh as its last refresh. Returns each view refreshed with the milliseconds it took. INVALID_ARGUMENT for an unknown view.';
