-- The follow-up fetches of vendor notifications, durable: a Cloudbeds notification names an entity
-- (a reservation) and says nothing of it; the fetch of its state is queued in the transaction that
-- accepts the notification and drained by the connector's worker, so a crash between the two
-- loses nothing. A row is claimed for a lease (FOR UPDATE SKIP LOCKED: workers never take the same
-- one); a claim whose worker died runs again once its lease is over; a failed fetch waits, then
-- runs again, up to its attempts.
-- Versioned DDL: never edited once released; a change is a new file (see README).

-- migrate:up
create table core.pms_fetch_queue (
    id              bigint generated always as identity,
    hotel_id        bigint not null references core.hotels (id) on delete cascade,
    vendor          text not null,
    event_id        text not null,
    event           text not null,
    entity_id       text not null,
    enqueued_at     timestamptz not null,
    next_attempt_at timestamptz not null,
    claimed_until   timestamptz,
    attempts        integer default 0 not null,
    last_error      text,
    done_at         timestamptz,
    given_up_at     timestamptz,
    primary key (hotel_id, id),  -- keyed by its hotel: co-located with it when distributed
    constraint pms_fetch_queue_event unique (hotel_id, event_id),
    constraint pms_fetch_queue_attempts check (attempts >= 0),
    constraint pms_fetch_queue_one_end check (done_at is null or given_up_at is null)
);
comment on table core.pms_fetch_queue is
    'Follow-up fetches of vendor notifications (the entity a Cloudbeds notification names), queued in the notification''s transaction and drained by the connector''s worker: claimed for a lease with FOR UPDATE SKIP LOCKED, retried after a failure, done or given up. One row per hotel and notification (a duplicate delivery queues nothing).';
comment on column core.pms_fetch_queue.claimed_until is 'A worker holds the row until then; a worker that died lets it run again after.';
comment on column core.pms_fetch_queue.next_attempt_at is 'Not fetched before then (the wait after a failure).';
create index pms_fetch_queue_due on core.pms_fetch_queue (next_attempt_at) where done_at is null and given_up_at is null;
create index pms_fetch_queue_id on core.pms_fetch_queue (id);
alter table core.pms_fetch_queue owner to hotelcore_owner;

-- hotel scope: the same row-level security as every core table with a hotel_id
alter table core.pms_fetch_queue enable row level security;
alter table core.pms_fetch_queue force row level security;
create policy pms_fetch_queue_in_hotel_scope on core.pms_fetch_queue
    using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true));

-- migrate:down
drop table if exists core.pms_fetch_queue;
