-- Citus-ready keys of the event log, third step: the keys of the log, its webhook deliveries and
-- their attempts include aggregate_id, their distribution column (docs/scale-out.md). Each key
-- is swapped onto the index the previous revision built concurrently (USING INDEX: a catalog
-- change); the foreign keys between them map aggregate_id to aggregate_id (NOT VALID here,
-- validated by the next revision); the attempts the previous release wrote since the previous
-- revision get their delivery's aggregate, and a check NOT VALID on it precedes NOT NULL.
-- migrate:up
-- Every lock taken up front, in the order the writers take them: a change writes its event
-- (the aggregate's stream row, then the event); the dispatcher fans events out into deliveries
-- and logs each delivery's attempts. A writer that holds one of these tables never waits for
-- one that comes earlier, so this waits for the writers in flight.
lock table core.event_streams, core.events, core.webhook_deliveries, core.webhook_attempts
    in access exclusive mode;

update core.webhook_attempts a set aggregate_id = d.aggregate_id
from core.webhook_deliveries d
where d.id = a.delivery_id and a.aggregate_id is null;
alter table core.webhook_attempts add constraint webhook_attempts_aggregate_id_not_null
    check (aggregate_id is not null) not valid;

alter table core.webhook_attempts drop constraint webhook_attempts_delivery_id_fkey;
alter table core.webhook_deliveries drop constraint webhook_deliveries_replay_of_fkey;
alter table core.webhook_deliveries drop constraint webhook_deliveries_event_pk_fkey;
alter table core.events drop constraint events_pkey,
    add constraint events_pkey primary key using index events_pkey_with_aggregate;
alter table core.events drop constraint events_event_id_unique,
    add constraint events_event_id_unique unique using index events_event_id_with_aggregate;
alter table core.webhook_deliveries drop constraint webhook_deliveries_pkey,
    add constraint webhook_deliveries_pkey primary key using index webhook_deliveries_pkey_with_aggregate;
drop index core.webhook_deliveries_once_per_event;
alter table core.webhook_deliveries add constraint webhook_deliveries_event_pk_fkey foreign key (event_pk, aggregate_id)
    references core.events (id, aggregate_id) on delete cascade not valid;
alter table core.webhook_deliveries add constraint webhook_deliveries_replay_of_fkey foreign key (replay_of, aggregate_id)
    references core.webhook_deliveries (id, aggregate_id) on delete set null (replay_of) not valid;
alter table core.webhook_attempts add constraint webhook_attempts_delivery_id_fkey foreign key (delivery_id, aggregate_id)
    references core.webhook_deliveries (id, aggregate_id) on delete cascade not valid;

-- migrate:down
lock table core.event_streams, core.events, core.webhook_deliveries, core.webhook_attempts
    in access exclusive mode;
alter table core.webhook_attempts drop constraint webhook_attempts_delivery_id_fkey;
alter table core.webhook_deliveries drop constraint webhook_deliveries_replay_of_fkey;
alter table core.webhook_deliveries drop constraint webhook_deliveries_event_pk_fkey;
create unique index webhook_deliveries_once_per_event on core.webhook_deliveries (consumer_id, event_pk)
    where replay_of is null;
alter table core.webhook_deliveries drop constraint webhook_deliveries_pkey,
    add constraint webhook_deliveries_pkey primary key (id);
alter table core.events drop constraint events_event_id_unique,
    add constraint events_event_id_unique unique (event_id);
alter table core.events drop constraint events_pkey, add constraint events_pkey primary key (id);
alter table core.webhook_deliveries add constraint webhook_deliveries_event_pk_fkey foreign key (event_pk)
    references core.events (id) on delete cascade;
alter table core.webhook_deliveries add constraint webhook_deliveries_replay_of_fkey foreign key (replay_of)
    references core.webhook_deliveries (id) on delete set null;
alter table core.webhook_attempts add constraint webhook_attempts_delivery_id_fkey foreign key (delivery_id)
    references core.webhook_deliveries (id) on delete cascade;
alter table core.webhook_attempts drop constraint webhook_attempts_aggregate_id_not_null;
create unique index events_pkey_with_aggregate on core.events (id, aggregate_id);
create unique index events_event_id_with_aggregate on core.events (event_id, aggregate_id);
create unique index webhook_deliveries_pkey_with_aggregate on core.webhook_deliveries (id, aggregate_id);
