-- A webhook attempt carries its delivery's aggregate (api.record_webhook_attempt writes it from the
-- delivery row), so the attempts are sharded with their deliveries and events, by aggregate
-- (docs/scale-out.md). Added nullable here: the previous release's functions, still running
-- while the next revision builds its indexes, do not write it. The next revision fills the rows
-- written before it; the key swap after it fills the rest under its lock, and the column is
-- NOT NULL after that (db/schema/scaleout--validate-event-log-keys.sql).
-- migrate:up
alter table core.webhook_attempts add column aggregate_id text;
comment on column core.webhook_attempts.aggregate_id is 'The delivery''s aggregate (core.webhook_deliveries.aggregate_id): attempts are kept with their delivery and its event.';

-- migrate:down
alter table core.webhook_attempts drop column aggregate_id;
