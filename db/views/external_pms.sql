-- Report views of external-PMS hotels (seed 001's monitoring): sync lag and errors, webhook
-- counts, the breaker's state history, the mirror's cache hit rate (캐시 히트율). Each reads
-- the core tables as its owner; row-level security keeps the reader's hotel scope.

create view report.pms_sync with (security_invoker = false) as
select p.hotel_id,
       p.vendor,
       p.property_id,
       p.sync_enabled,
       p.sync_running,
       p.last_sync_at,
       p.last_sync_ok,
       p.next_sync_at,
       extract(epoch from internal.now() - (select max(r.finished_at) from core.pms_sync_runs r
                                             where r.hotel_id = p.hotel_id and r.ok))::numeric(12, 1) as lag_seconds,
       p.consecutive_failures,
       p.error_count,
       p.last_error,
       p.stopped_at,
       (select count(*) from core.pms_sync_runs r where r.hotel_id = p.hotel_id
          and r.finished_at > internal.now() - interval '24 hours')::integer as runs_24h,
       (select count(*) from core.pms_sync_runs r where r.hotel_id = p.hotel_id and not r.ok
          and r.finished_at > internal.now() - interval '24 hours')::integer as failed_runs_24h
from core.pms_properties p;
comment on view report.pms_sync is 'The polling sync of each external-PMS hotel: state, lag since the last successful run, errors.';
comment on column report.pms_sync.hotel_id is 'The hotel (report.hotels).';
comment on column report.pms_sync.vendor is 'The PMS vendor, e.g. cloudbeds.';
comment on column report.pms_sync.property_id is 'The vendor''s id of the property.';
comment on column report.pms_sync.sync_enabled is 'False once 5 consecutive failures stopped the polling (until a manual trigger).';
comment on column report.pms_sync.sync_running is 'True while a sync run holds the hotel.';
comment on column report.pms_sync.last_sync_at is 'When the last run ended.';
comment on column report.pms_sync.last_sync_ok is 'Whether the last run succeeded.';
comment on column report.pms_sync.next_sync_at is 'When the next run is due.';
comment on column report.pms_sync.lag_seconds is 'Seconds since the last successful run ended (null: none yet): how far the mirror may lag the vendor.';
comment on column report.pms_sync.consecutive_failures is 'Failed runs in a row (5 stop the polling).';
comment on column report.pms_sync.error_count is 'Failed runs since import.';
comment on column report.pms_sync.last_error is 'The error of the last failed run.';
comment on column report.pms_sync.stopped_at is 'When the polling was stopped by failures.';
comment on column report.pms_sync.runs_24h is 'Runs that ended in the last 24 hours.';
comment on column report.pms_sync.failed_runs_24h is 'Failed runs that ended in the last 24 hours.';

create view report.pms_webhooks_daily with (security_invoker = false) as
select e.hotel_id,
       e.vendor,
       (e.received_at at time zone 'UTC')::date as day,
       e.kind,
       e.outcome,
       count(*)::integer as events
from core.pms_webhook_events e
group by e.hotel_id, e.vendor, (e.received_at at time zone 'UTC')::date, e.kind, e.outcome;
comment on view report.pms_webhooks_daily is 'Inbound PMS webhook events applied per hotel, UTC day, kind and outcome (duplicates are answered and not stored).';
comment on column report.pms_webhooks_daily.hotel_id is 'The hotel (report.hotels).';
comment on column report.pms_webhooks_daily.vendor is 'The PMS vendor.';
comment on column report.pms_webhooks_daily.day is 'UTC day the events were received.';
comment on column report.pms_webhooks_daily.kind is 'inventory_update, rate_update, booking_confirm, booking_cancel, room_update or reservation (a Cloudbeds notification).';
comment on column report.pms_webhooks_daily.outcome is 'applied, or stale (older than the mirror''s state: changed nothing).';
comment on column report.pms_webhooks_daily.events is 'How many.';

create view report.pms_breaker_history with (security_invoker = false) as
select b.hotel_id,
       b.vendor,
       b.state,
       b.at as since,
       lead(b.at) over (partition by b.hotel_id order by b.at, b.id) as until,
       extract(epoch from coalesce(lead(b.at) over (partition by b.hotel_id order by b.at, b.id), internal.now()) - b.at)::numeric(12, 1)
           as seconds
from core.pms_breaker_events b;
comment on view report.pms_breaker_history is 'The circuit breaker of each external hotel''s vendor: each state (closed, open, half_open) with when it began and ended; open is degraded mode.';
comment on column report.pms_breaker_history.hotel_id is 'The hotel (report.hotels).';
comment on column report.pms_breaker_history.vendor is 'The PMS vendor.';
comment on column report.pms_breaker_history.state is 'closed, open (bookings refused, searches from the mirror) or half_open (a trial call).';
comment on column report.pms_breaker_history.since is 'When the state began.';
comment on column report.pms_breaker_history.until is 'When it ended (null: still the state).';
comment on column report.pms_breaker_history.seconds is 'How long it lasted (so far).';

create view report.pms_cache_hit_rate with (security_invoker = false) as
select l.hotel_id,
       l.day,
       l.hits,
       l.misses,
       round(l.hits::numeric / nullif(l.hits + l.misses, 0), 4) as hit_rate
from core.pms_cache_lookups l;
comment on view report.pms_cache_hit_rate is 'Seed 001''s cache hit rate (캐시 히트율) per external hotel and UTC day: searches answered by a fresh mirror over all searches.';
comment on column report.pms_cache_hit_rate.hotel_id is 'The hotel (report.hotels).';
comment on column report.pms_cache_hit_rate.day is 'UTC day of the searches.';
comment on column report.pms_cache_hit_rate.hits is 'Searches the mirror answered within its TTLs.';
comment on column report.pms_cache_hit_rate.misses is 'Searches that asked the PMS first (stale or missing nights).';
comment on column report.pms_cache_hit_rate.hit_rate is 'hits / (hits + misses), 0-1.';
