-- Reports on guest services (hotel-saas): service revenue, order lead times, satisfaction.
-- Like every report view they run as their owner (security_invoker = false), whom row-level
-- security binds to the reader's hotel scope. Days and months are the hotel's local ones; money is
-- never summed across currencies (a hotel has one).

-- Revenue is what reached the folio: a delivered order's service (net) and tax charges on the day
-- they were posted, less the credit lines that reversed them on the day of the reversal. An order
-- cancelled before delivery never posted anything, so it is not here.
create view report.service_revenue_daily with (security_invoker = false) as
with postings as (
    select p.hotel_id, p.order_id, l.category, fl.currency, fl.posted_at, fl.amount,
           coalesce(charged.kind, fl.kind) as charge_kind,
           p.reverses_line_id is not null as is_reversal
    from core.service_order_postings p
    inner join core.folio_lines fl on p.folio_line_id = fl.id
    inner join core.service_order_lines l on p.order_line_id = l.id
    left join core.folio_lines charged on p.reverses_line_id = charged.id
)
select p.hotel_id,
       (p.posted_at at time zone h.time_zone)::date as day,
       p.category::text as category,
       p.currency,
       (count(distinct p.order_id) filter (where not p.is_reversal))::integer as orders_delivered,
       (count(distinct p.order_id) filter (where p.is_reversal))::integer as orders_reversed,
       coalesce(sum(p.amount) filter (where p.charge_kind = 'service'), 0) as net_revenue,
       coalesce(sum(p.amount) filter (where p.charge_kind = 'tax'), 0) as tax,
       sum(p.amount) as gross_revenue,
       coalesce(-sum(p.amount) filter (where p.is_reversal), 0) as reversed_amount
from postings p
inner join core.hotels h on p.hotel_id = h.id
group by 1, 2, 3, 4;
comment on view report.service_revenue_daily is
    'Guest-service revenue per hotel, category and day (hotel time) as posted to folios: charges of delivered orders less the credit lines reversing cancelled deliveries. Grain: hotel x day x category.';
comment on column report.service_revenue_daily.hotel_id is 'The hotel (report.hotels).';
comment on column report.service_revenue_daily.day is 'The hotel-local date the charges or reversals were posted.';
comment on column report.service_revenue_daily.category is 'Catalog category: room_service, minibar, spa, laundry, activity, transport, dining, concierge, other.';
comment on column report.service_revenue_daily.currency is 'ISO currency of the amounts (the hotel''s).';
comment on column report.service_revenue_daily.orders_delivered is 'Orders whose charges of this category were posted that day (delivered).';
comment on column report.service_revenue_daily.orders_reversed is 'Delivered orders of this category whose charges were reversed that day.';
comment on column report.service_revenue_daily.net_revenue is 'Service charges net of tax, less their reversals.';
comment on column report.service_revenue_daily.tax is 'Tax charged on services, less its reversals.';
comment on column report.service_revenue_daily.gross_revenue is 'net_revenue + tax: what the day added to folios.';
comment on column report.service_revenue_daily.reversed_amount is 'Credit lines posted that day reversing delivered orders (positive), already deducted above.';

-- Lead time: from the order to its delivery, for delivered orders (kept when later reversed: the
-- guest was served). Percentiles are continuous (interpolated), in minutes.
create view report.service_order_lead_times with (security_invoker = false) as
select o.hotel_id,
       date_trunc('month', o.ordered_at at time zone h.time_zone)::date as month,
       count(*)::integer as orders_delivered,
       round(avg(extract(epoch from o.delivered_at - o.ordered_at) / 60)::numeric, 1) as avg_minutes,
       round((percentile_cont(0.5) within group (order by extract(epoch from o.delivered_at - o.ordered_at) / 60))::numeric, 1)
           as p50_minutes,
       round((percentile_cont(0.9) within group (order by extract(epoch from o.delivered_at - o.ordered_at) / 60))::numeric, 1)
           as p90_minutes,
       round((percentile_cont(0.95) within group (order by extract(epoch from o.delivered_at - o.ordered_at) / 60))::numeric, 1)
           as p95_minutes,
       round((max(extract(epoch from o.delivered_at - o.ordered_at)) / 60)::numeric, 1) as max_minutes
from core.service_orders o
inner join core.hotels h on o.hotel_id = h.id
where o.delivered_at is not null
group by 1, 2;
comment on view report.service_order_lead_times is
    'How long delivered orders took from ordered to delivered, per hotel and month of the order (hotel time): average and percentiles in minutes. Grain: hotel x month.';
comment on column report.service_order_lead_times.hotel_id is 'The hotel (report.hotels).';
comment on column report.service_order_lead_times.month is 'First day of the hotel-local month the orders were placed.';
comment on column report.service_order_lead_times.orders_delivered is 'Orders delivered (including those whose charges were later reversed).';
comment on column report.service_order_lead_times.avg_minutes is 'Mean minutes from ordered to delivered, 1 decimal.';
comment on column report.service_order_lead_times.p50_minutes is 'Median minutes (continuous percentile), 1 decimal.';
comment on column report.service_order_lead_times.p90_minutes is '90th percentile minutes (continuous), 1 decimal.';
comment on column report.service_order_lead_times.p95_minutes is '95th percentile minutes (continuous), 1 decimal.';
comment on column report.service_order_lead_times.max_minutes is 'The longest wait, minutes, 1 decimal.';

-- Satisfaction: service feedback scores and the loyalty domain's stay review ratings, per hotel,
-- aspect and month (hotel time) of the feedback or review. Review ratings map to aspects by name
-- (overall, cleanliness, service, location, facilities, value).
create view report.satisfaction_trend with (security_invoker = false) as
with scores as (
    select f.hotel_id, f.updated_at as at, s.aspect::text as aspect, s.score::numeric as score, 'feedback'::text as source
    from core.feedback f inner join core.feedback_scores s on f.id = s.feedback_id
    union all
    select r.hotel_id, r.created_at as at, a.aspect, a.score, 'review' as source
    from core.reviews r
    cross join lateral (values ('overall', r.overall_rating), ('cleanliness', r.cleanliness_rating),
                               ('service', r.service_rating), ('location', r.location_rating),
                               ('facilities', r.facilities_rating), ('value', r.value_rating)) as a(aspect, score)
    where a.score is not null
),
monthly as (
    select s.hotel_id, s.aspect, date_trunc('month', s.at at time zone h.time_zone)::date as month,
           count(*)::integer as responses,
           avg(s.score) as average,
           (count(*) filter (where s.source = 'feedback'))::integer as feedback_responses,
           avg(s.score) filter (where s.source = 'feedback') as feedback_average,
           (count(*) filter (where s.source = 'review'))::integer as review_responses,
           avg(s.score) filter (where s.source = 'review') as review_average
    from scores s
    inner join core.hotels h on s.hotel_id = h.id
    group by 1, 2, 3
)
select m.hotel_id, m.aspect, m.month, m.responses,
       round(m.average, 2) as average_score,
       m.feedback_responses,
       round(m.feedback_average, 2) as feedback_average,
       m.review_responses,
       round(m.review_average, 2) as review_average,
       round(m.average - lag(m.average) over (partition by m.hotel_id, m.aspect order by m.month), 2) as change_from_previous
from monthly m;
comment on view report.satisfaction_trend is
    'Guest satisfaction per hotel, aspect and month (hotel time): service feedback scores and stay review ratings (1-5), together and apart, and the change of the average from the previous month with responses. Grain: hotel x aspect x month.';
comment on column report.satisfaction_trend.hotel_id is 'The hotel (report.hotels).';
comment on column report.satisfaction_trend.aspect is 'What was rated: overall, food, service, timeliness, cleanliness, comfort, staff, facilities, value, location.';
comment on column report.satisfaction_trend.month is 'First day of the hotel-local month of the feedback (last change) or review.';
comment on column report.satisfaction_trend.responses is 'Scores given for the aspect that month (feedback and reviews).';
comment on column report.satisfaction_trend.average_score is 'Mean score 1-5 of all of them, 2 decimals.';
comment on column report.satisfaction_trend.feedback_responses is 'Scores from service feedback.';
comment on column report.satisfaction_trend.feedback_average is 'Their mean, 2 decimals; null without any.';
comment on column report.satisfaction_trend.review_responses is 'Ratings from stay reviews (loyalty domain).';
comment on column report.satisfaction_trend.review_average is 'Their mean, 2 decimals; null without any.';
comment on column report.satisfaction_trend.change_from_previous is 'average_score minus that of the previous month with responses for the hotel and aspect; null for the first.';
