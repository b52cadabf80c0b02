-- Ops views of the events between the systems, against seed 000's targets: sync delay at most
-- 10 s, inter-system success rate at least 99.99 %. Times are real time (core.events.recorded_at
-- and the delivery clock), not the movable business clock.

create view report.event_consumer_lag with (security_invoker = false) as
-- one instant for every consumer (a materialised CTE is evaluated once), so lags read in one
-- query compare: two consumers behind the same event are equally late
with t as materialized (select clock_timestamp() as now)
select c.name as consumer,
       c.kind,
       c.system,
       c.disabled_at is not null as disabled,
       u.unread,
       u.oldest_unread_at,
       coalesce(extract(epoch from t.now - u.oldest_unread_at), 0)::numeric(14, 3) as lag_seconds,
       coalesce(extract(epoch from t.now - u.oldest_unread_at), 0) <= 10 as meets_target,
       c.cursor_moved_at
from core.event_consumers c
cross join t
cross join lateral (
    -- pull: wanted events after the acknowledged position; webhook: not fanned out yet, or pending
    select count(*) as unread, min(x.recorded_at) as oldest_unread_at
    from (
        select e.recorded_at from core.events e
        where (e.order_xid, e.id) > (c.cursor_order_xid, c.cursor_id)
          and internal.event_type_wanted(e.type, c.event_types)
          and (c.hotel_ids is null or e.hotel_id is null or e.hotel_id = any(c.hotel_ids))
        union all
        select e.recorded_at from core.webhook_deliveries d inner join core.events e on d.event_pk = e.id
        where d.consumer_id = c.id and d.status = 'pending'
    ) x
) u;
comment on view report.event_consumer_lag is
    'Lag per consumer (seed 000: sync delay at most 10 s): events it wants that it has not acknowledged (pull) or that were not delivered yet (webhook), and the age of the oldest one. Grain: consumer.';
comment on column report.event_consumer_lag.consumer is 'Consumer name (hotel-member, hotel-pms, hotel-saas, webhook-N, ...).';
comment on column report.event_consumer_lag.kind is 'pull or webhook.';
comment on column report.event_consumer_lag.system is 'Whose rights filter its events (admin: every field).';
comment on column report.event_consumer_lag.disabled is 'True when disabled (by an operator or a 410 answer).';
comment on column report.event_consumer_lag.unread is 'Wanted events not yet acknowledged or delivered.';
comment on column report.event_consumer_lag.oldest_unread_at is 'When the oldest of them was written (real time).';
comment on column report.event_consumer_lag.lag_seconds is 'Age of the oldest unread event in seconds (0 when none).';
comment on column report.event_consumer_lag.meets_target is 'lag_seconds within seed 000''s 10 s sync delay.';
comment on column report.event_consumer_lag.cursor_moved_at is 'When its cursor last moved.';

create view report.webhook_delivery_log with (security_invoker = false) as
select a.id as attempt_id,
       d.consumer_id as webhook_id,
       c.name as webhook,
       e.event_id,
       e.type as event_type,
       d.id as delivery_id,
       d.replay_of,
       a.attempt,
       a.started_at,
       a.latency_ms,
       a.status_code,
       a.error,
       a.dispatcher,
       case when a.status_code between 200 and 299 then 'delivered'
            when a.status_code = 410 then 'gone' else 'failed' end as outcome
from core.webhook_attempts a
inner join core.webhook_deliveries d on a.delivery_id = d.id
inner join core.event_consumers c on d.consumer_id = c.id
inner join core.events e on d.event_pk = e.id;
comment on view report.webhook_delivery_log is
    'The delivery log: every attempt to send an event to a webhook endpoint, with its status code or error and the request''s latency. Grain: attempt.';
comment on column report.webhook_delivery_log.attempt_id is 'Attempt id, increasing in time.';
comment on column report.webhook_delivery_log.webhook_id is 'The endpoint (api.list_webhooks).';
comment on column report.webhook_delivery_log.webhook is 'The endpoint''s consumer name.';
comment on column report.webhook_delivery_log.event_id is 'The event, and the webhook-id header of every attempt.';
comment on column report.webhook_delivery_log.event_type is 'The event type.';
comment on column report.webhook_delivery_log.delivery_id is 'The delivery the attempt belongs to.';
comment on column report.webhook_delivery_log.replay_of is 'For a replay: the original delivery.';
comment on column report.webhook_delivery_log.attempt is 'Attempt number within the delivery, from 1.';
comment on column report.webhook_delivery_log.started_at is 'When the request was sent.';
comment on column report.webhook_delivery_log.latency_ms is 'How long the request took, in milliseconds.';
comment on column report.webhook_delivery_log.status_code is 'The HTTP status answered (null: transport error).';
comment on column report.webhook_delivery_log.error is 'The transport error or the failure''s reason.';
comment on column report.webhook_delivery_log.dispatcher is 'The dispatcher that sent it.';
comment on column report.webhook_delivery_log.outcome is 'delivered (2xx), gone (410: endpoint disabled) or failed.';

create view report.webhook_dead_letters with (security_invoker = false) as
select d.id as delivery_id,
       d.consumer_id as webhook_id,
       c.name as webhook,
       e.event_id,
       e.type as event_type,
       e.aggregate_kind,
       e.aggregate_id,
       d.attempts,
       d.last_status,
       d.last_error,
       d.created_at,
       d.finished_at
from core.webhook_deliveries d
inner join core.event_consumers c on d.consumer_id = c.id
inner join core.events e on d.event_pk = e.id
where d.status = 'dead';
comment on view report.webhook_dead_letters is
    'Dead letters: deliveries that failed their last attempt or met a 410; replay them with hotelcore webhooks replay. Grain: delivery.';
comment on column report.webhook_dead_letters.delivery_id is 'The delivery.';
comment on column report.webhook_dead_letters.webhook_id is 'The endpoint.';
comment on column report.webhook_dead_letters.webhook is 'The endpoint''s consumer name.';
comment on column report.webhook_dead_letters.event_id is 'The event (webhook-id).';
comment on column report.webhook_dead_letters.event_type is 'The event type.';
comment on column report.webhook_dead_letters.aggregate_kind is 'What the event is about.';
comment on column report.webhook_dead_letters.aggregate_id is 'Which one.';
comment on column report.webhook_dead_letters.attempts is 'Attempts made.';
comment on column report.webhook_dead_letters.last_status is 'The last HTTP status (null: transport error).';
comment on column report.webhook_dead_letters.last_error is 'The last error.';
comment on column report.webhook_dead_letters.created_at is 'When the delivery was queued.';
comment on column report.webhook_dead_letters.finished_at is 'When it was given up.';

create view report.webhook_delivery_stats with (security_invoker = false) as
select c.id as webhook_id,
       c.name as webhook,
       count(*) filter (where d.status = 'delivered') as delivered,
       count(*) filter (where d.status = 'dead') as dead,
       count(*) filter (where d.status = 'pending') as pending,
       (count(*) filter (where d.status = 'delivered'))::numeric
           / nullif(count(*) filter (where d.status <> 'pending'), 0) as success_rate,
       coalesce((count(*) filter (where d.status = 'delivered'))::numeric
           / nullif(count(*) filter (where d.status <> 'pending'), 0) >= 0.9999, true) as meets_success_target,
       (percentile_cont(0.5) within group (order by extract(epoch from d.finished_at - e.recorded_at) * 1000)
           filter (where d.status = 'delivered' and d.replay_of is null))::numeric(14, 1) as latency_p50_ms,
       (percentile_cont(0.95) within group (order by extract(epoch from d.finished_at - e.recorded_at) * 1000)
           filter (where d.status = 'delivered' and d.replay_of is null))::numeric(14, 1) as latency_p95_ms,
       (percentile_cont(0.99) within group (order by extract(epoch from d.finished_at - e.recorded_at) * 1000)
           filter (where d.status = 'delivered' and d.replay_of is null))::numeric(14, 1) as latency_p99_ms,
       coalesce((percentile_cont(0.95) within group (order by extract(epoch from d.finished_at - e.recorded_at))
           filter (where d.status = 'delivered' and d.replay_of is null)) <= 10, true) as meets_delay_target
from core.event_consumers c
left join core.webhook_deliveries d on c.id = d.consumer_id
left join core.events e on d.event_pk = e.id
where c.kind = 'webhook'
group by c.id;
comment on view report.webhook_delivery_stats is
    'Per webhook endpoint: deliveries delivered, dead and pending, the success rate against seed 000''s 99.99 %, and the latency from the event''s transaction to its delivery (p50/p95/p99) against its 10 s sync delay. Grain: endpoint.';
comment on column report.webhook_delivery_stats.webhook_id is 'The endpoint.';
comment on column report.webhook_delivery_stats.webhook is 'The endpoint''s consumer name.';
comment on column report.webhook_delivery_stats.delivered is 'Deliveries answered 2xx.';
comment on column report.webhook_delivery_stats.dead is 'Dead letters.';
comment on column report.webhook_delivery_stats.pending is 'Deliveries still to send or retry.';
comment on column report.webhook_delivery_stats.success_rate is 'delivered / (delivered + dead); null before the first outcome.';
comment on column report.webhook_delivery_stats.meets_success_target is 'success_rate at least 99.99 % (seed 000), or nothing finished yet.';
comment on column report.webhook_delivery_stats.latency_p50_ms is 'Median time from the event''s transaction start to its delivery, ms (first deliveries, not replays).';
comment on column report.webhook_delivery_stats.latency_p95_ms is '95th percentile of that latency, ms.';
comment on column report.webhook_delivery_stats.latency_p99_ms is '99th percentile of that latency, ms.';
comment on column report.webhook_delivery_stats.meets_delay_target is 'p95 latency within seed 000''s 10 s sync delay.';

create view report.events_per_type with (security_invoker = false) as
select e.type as event_type,
       t.publisher,
       count(*) as events,
       min(e.occurred_at) as first_at,
       max(e.occurred_at) as last_at
from core.events e
inner join core.event_types t on e.type = t.name
group by e.type, t.publisher;
comment on view report.events_per_type is 'Events in the log per type (in the reader''s hotels, and the chain-wide customer events). Grain: event type.';
comment on column report.events_per_type.event_type is 'The event type.';
comment on column report.events_per_type.publisher is 'The system that publishes it (seed 000).';
comment on column report.events_per_type.events is 'Events of this type kept in the log.';
comment on column report.events_per_type.first_at is 'The first one''s business time.';
comment on column report.events_per_type.last_at is 'The last one''s business time.';

-- functions a view calls run as its reader
grant execute on function internal.event_type_wanted(text, text[]) to hotelcore_bi, hotelcore_admin;
