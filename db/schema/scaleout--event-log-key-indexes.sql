-- Citus-ready keys of the event log, second step: the log, its webhook deliveries and their
-- attempts are distributed by aggregate_id, co-located with one another (not with the hotels:
-- the log's one order spans the hotels and the chain-wide aggregates, docs/scale-out.md). The
-- unique indexes of their keys with aggregate_id, built while events are written; the next
-- revision (db/schema/scaleout--event-log-by-aggregate.sql) swaps the constraints onto them.
-- Same guarantee as before on one server: each old key's columns plus aggregate_id (ids are
-- identity values; an event id is a random UUID).
--
-- Applied outside a transaction (the revision says TRANSACTION = False): the attempts written
-- so far get their delivery's aggregate (row locks only, a statement that can run again), then
-- CREATE INDEX CONCURRENTLY builds each index without blocking writes; IF NOT EXISTS lets a
-- failed deploy run again.
-- migrate:up
update core.webhook_attempts a set aggregate_id = d.aggregate_id
from core.webhook_deliveries d
where d.id = a.delivery_id and a.aggregate_id is null;
create unique index concurrently if not exists events_pkey_with_aggregate
    on core.events (id, aggregate_id);
create unique index concurrently if not exists events_event_id_with_aggregate
    on core.events (event_id, aggregate_id);
create unique index concurrently if not exists webhook_deliveries_pkey_with_aggregate
    on core.webhook_deliveries (id, aggregate_id);
create unique index concurrently if not exists webhook_deliveries_once_per_event_with_aggregate
    on core.webhook_deliveries (consumer_id, event_pk, aggregate_id) where replay_of is null;
create unique index concurrently if not exists webhook_attempts_pkey_with_aggregate
    on core.webhook_attempts (id, aggregate_id);

-- migrate:down
drop index concurrently if exists core.webhook_attempts_pkey_with_aggregate;
drop index concurrently if exists core.webhook_deliveries_once_per_event_with_aggregate;
drop index concurrently if exists core.webhook_deliveries_pkey_with_aggregate;
drop index concurrently if exists core.events_event_id_with_aggregate;
drop index concurrently if exists core.events_pkey_with_aggregate;
