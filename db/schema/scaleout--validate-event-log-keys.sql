-- Citus-ready keys of the event log, fourth step: validate what the previous revision added NOT
-- VALID (the deliveries' and attempts' foreign keys with aggregate_id, and aggregate_id present
-- on the attempts), then make the attempts' aggregate_id NOT NULL (PostgreSQL proves it from the
-- validated check, without a second scan) and swap their primary key onto the (id,
-- aggregate_id) index built concurrently two revisions ago.
-- migrate:up
alter table core.webhook_deliveries validate constraint webhook_deliveries_event_pk_fkey;
alter table core.webhook_deliveries validate constraint webhook_deliveries_replay_of_fkey;
alter table core.webhook_attempts validate constraint webhook_attempts_delivery_id_fkey;
alter table core.webhook_attempts validate constraint webhook_attempts_aggregate_id_not_null;
alter table core.webhook_attempts alter column aggregate_id set not null;
alter table core.webhook_attempts drop constraint webhook_attempts_aggregate_id_not_null;
alter table core.webhook_attempts drop constraint webhook_attempts_pkey,
    add constraint webhook_attempts_pkey primary key using index webhook_attempts_pkey_with_aggregate;

-- migrate:down
-- a validated constraint cannot be made NOT VALID again: each is dropped and added back NOT VALID
alter table core.webhook_attempts drop constraint webhook_attempts_pkey,
    add constraint webhook_attempts_pkey primary key (id);
alter table core.webhook_attempts alter column aggregate_id drop not null;
alter table core.webhook_attempts add constraint webhook_attempts_aggregate_id_not_null
    check (aggregate_id is not null) not valid;
alter table core.webhook_attempts drop constraint webhook_attempts_delivery_id_fkey;
alter table core.webhook_attempts add constraint webhook_attempts_delivery_id_fkey foreign key (delivery_id, aggregate_id)
    references core.webhook_deliveries (id, aggregate_id) on delete cascade not valid;
alter table core.webhook_deliveries drop constraint webhook_deliveries_replay_of_fkey;
alter table core.webhook_deliveries add constraint webhook_deliveries_replay_of_fkey foreign key (replay_of, aggregate_id)
    references core.webhook_deliveries (id, aggregate_id) on delete set null (replay_of) not valid;
alter table core.webhook_deliveries drop constraint webhook_deliveries_event_pk_fkey;
alter table core.webhook_deliveries add constraint webhook_deliveries_event_pk_fkey foreign key (event_pk, aggregate_id)
    references core.events (id, aggregate_id) on delete cascade not valid;
create unique index webhook_attempts_pkey_with_aggregate on core.webhook_attempts (id, aggregate_id);
