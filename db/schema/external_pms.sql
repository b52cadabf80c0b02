-- Hotels mastered by an external PMS (seed 001: "reads from the cache, writes to the PMS ledger").
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- An external hotel is an ordinary core.hotels row (name, time zone, currency, tax) with its room
-- types, rooms and rate plans, plus one core.pms_properties row naming the vendor and the
-- vendor's property. Its ledger is the vendor's: hotelcore keeps no core.inventory, hold or
-- reservation of it (triggers refuse them), only the mirror below, which is the seed's cache:
--   core.pms_room_types / pms_rate_plans / pms_rooms  our ids <-> the vendor's ids
--   core.pms_inventory   per room type and night: rooms in total and still available at the vendor
--   core.pms_rates       per rate plan and night: the vendor's nightly price
--   core.pms_reservations the vendor's reservations as last seen (modification time wins)
-- Every mirror row carries fetched_at (when the vendor said it) and source (import, poll, fetch,
-- webhook, booking); core.pms_freshness holds the seed's TTLs per kind of data.

-- migrate:up
create table core.pms_properties (
    hotel_id              bigint primary key references core.hotels (id) on delete cascade,
    vendor                text not null,
    property_id           text not null,
    base_url              text not null,
    api_key               text not null,
    webhook_secret        text not null,
    webhook_token_sha256  bytea not null,
    poll_interval_seconds integer not null default 300,
    poll_horizon_days     integer not null default 30,
    sync_enabled          boolean not null default true,
    sync_running          boolean not null default false,
    last_sync_at          timestamptz,
    last_sync_ok          boolean,
    next_sync_at          timestamptz,
    consecutive_failures  integer not null default 0,
    error_count           bigint not null default 0,
    last_error            text,
    stopped_at            timestamptz,
    imported_at           timestamptz not null default now(),
    constraint pms_properties_vendor_property_unique unique (vendor, property_id),
    constraint pms_properties_vendor_shape check (vendor ~ '^[a-z][a-z0-9_]{0,49}$'),
    constraint pms_properties_property_id_not_blank check (btrim(property_id) <> '' and length(property_id) <= 100),
    constraint pms_properties_base_url_is_http check (base_url ~ '^https?://'),
    constraint pms_properties_webhook_token_is_sha256 check (length(webhook_token_sha256) = 32),
    constraint pms_properties_poll_interval_range check (poll_interval_seconds between 1 and 86400),
    constraint pms_properties_poll_horizon_range check (poll_horizon_days between 1 and 365),
    constraint pms_properties_failures_not_negative check (consecutive_failures >= 0 and error_count >= 0)
);
comment on table core.pms_properties is
    'External-PMS hotels (seed 001): the vendor and its property id, the connection (base URL, API key), the webhook secrets (HMAC secret of signed events; sha256 of the per-endpoint token of unsigned notifications) and the polling sync''s state (interval, horizon, last/next run, consecutive failures; stopped after 5).';

create table core.pms_freshness (
    kind        text primary key,
    ttl_seconds integer not null,
    constraint pms_freshness_kind check (kind in ('inventory', 'rates', 'rooms')),
    constraint pms_freshness_ttl_positive check (ttl_seconds between 1 and 86400)
);
comment on table core.pms_freshness is
    'How long a mirror row answers without asking the vendor again (seed 001''s cache TTLs): inventory 90 s, rates 300 s, the room list 3,600 s.';
insert into core.pms_freshness (kind, ttl_seconds) values ('inventory', 90), ('rates', 300), ('rooms', 3600);

create table core.pms_room_types (
    hotel_id     bigint not null,
    room_type_id bigint not null,
    external_id  text not null,
    fetched_at   timestamptz not null,
    source       text not null,
    primary key (hotel_id, room_type_id),
    constraint pms_room_types_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint pms_room_types_external_unique unique (hotel_id, external_id),
    constraint pms_room_types_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking'))
);
comment on table core.pms_room_types is 'The vendor''s id of each room type of an external hotel, and when the room list was last read.';

create table core.pms_rate_plans (
    hotel_id     bigint not null,
    rate_plan_id bigint not null,
    external_id  text not null,
    fetched_at   timestamptz not null,
    source       text not null,
    primary key (hotel_id, rate_plan_id),
    constraint pms_rate_plans_rate_plan_fk foreign key (hotel_id, rate_plan_id)
        references core.rate_plans (hotel_id, id) on delete cascade,
    constraint pms_rate_plans_external_unique unique (hotel_id, external_id),
    constraint pms_rate_plans_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking'))
);
comment on table core.pms_rate_plans is 'The vendor''s id of each rate plan (rate id per room type) of an external hotel.';

create table core.pms_rooms (
    hotel_id    bigint not null,
    room_id     bigint not null,
    external_id text not null,
    primary key (hotel_id, room_id),
    constraint pms_rooms_room_fk foreign key (hotel_id, room_id) references core.rooms (hotel_id, id) on delete cascade,
    constraint pms_rooms_external_unique unique (hotel_id, external_id)
);
comment on table core.pms_rooms is 'The vendor''s id of each physical room of an external hotel (a hold blocks rooms by these ids).';

create table core.pms_inventory (
    hotel_id     bigint not null,
    room_type_id bigint not null,
    night        date not null,
    total        integer not null,
    available    integer not null,
    fetched_at   timestamptz not null,
    source       text not null,
    primary key (hotel_id, room_type_id, night),
    constraint pms_inventory_room_type_fk foreign key (hotel_id, room_type_id)
        references core.room_types (hotel_id, id) on delete cascade,
    constraint pms_inventory_counts check (total >= 0 and available >= 0),
    constraint pms_inventory_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking'))
);
comment on table core.pms_inventory is
    'The mirror of an external hotel''s inventory per room type and night (seed 001''s inv:{hotel}:{roomType}:{date}): rooms in total and available at the vendor as of fetched_at. A newer fetched_at wins; a booking made through hotelcore decrements it at once (source booking) until the next fetch.';

create table core.pms_rates (
    hotel_id     bigint not null,
    rate_plan_id bigint not null,
    night        date not null,
    amount       numeric(12, 2) not null,
    fetched_at   timestamptz not null,
    source       text not null,
    primary key (hotel_id, rate_plan_id, night),
    constraint pms_rates_rate_plan_fk foreign key (hotel_id, rate_plan_id)
        references core.rate_plans (hotel_id, id) on delete cascade,
    constraint pms_rates_amount_not_negative check (amount >= 0),
    constraint pms_rates_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking'))
);
comment on table core.pms_rates is
    'The mirror of an external hotel''s nightly price per rate plan and night (seed 001''s rate:{hotel}:{roomType}:{date}), in the hotel currency, before tax, as of fetched_at.';

create table core.pms_reservations (
    hotel_id           bigint not null references core.hotels (id) on delete cascade,
    external_id        text not null,
    room_type_id       bigint,
    stay               daterange,
    rooms              integer not null default 1,
    status             text not null,
    guest_name         text,
    total              numeric(12, 2),
    vendor_modified_at timestamptz not null,
    checkout_id        bigint,
    fetched_at         timestamptz not null,
    source             text not null,
    primary key (hotel_id, external_id),
    constraint pms_reservations_status check (status in ('not_confirmed', 'confirmed', 'canceled', 'checked_in', 'checked_out', 'no_show')),
    constraint pms_reservations_rooms_positive check (rooms between 1 and 100),
    constraint pms_reservations_source check (source in ('import', 'poll', 'fetch', 'webhook', 'booking'))
);
comment on table core.pms_reservations is
    'An external hotel''s reservations as the vendor last said (status per Cloudbeds: not_confirmed, confirmed, canceled, checked_in, checked_out, no_show). vendor_modified_at orders the versions: an older state never overwrites a newer one, so duplicated and out-of-order webhooks converge.';

create table core.pms_webhook_events (
    id          bigint generated always as identity primary key,
    vendor      text not null,
    event_id    text not null,
    hotel_id    bigint references core.hotels (id) on delete cascade,
    kind        text not null,
    outcome     text not null,
    received_at timestamptz not null,
    constraint pms_webhook_events_once unique (vendor, event_id),
    constraint pms_webhook_events_outcome check (outcome in ('applied', 'stale'))
);
comment on table core.pms_webhook_events is
    'Inbound PMS webhooks, one row per vendor event id (a duplicate answers 200 and changes nothing): kind and whether it changed the mirror (applied) or was older than what the mirror holds (stale).';
create index pms_webhook_events_hotel on core.pms_webhook_events (hotel_id, received_at);

create table core.pms_sync_runs (
    id          bigint generated always as identity primary key,
    hotel_id    bigint not null references core.hotels (id) on delete cascade,
    trigger     text not null,
    started_at  timestamptz not null,
    finished_at timestamptz not null,
    ok          boolean not null,
    changes     integer not null default 0,
    error       text,
    constraint pms_sync_runs_trigger check (trigger in ('poll', 'manual', 'import')),
    constraint pms_sync_runs_order check (finished_at >= started_at)
);
comment on table core.pms_sync_runs is 'Each polling sync of an external hotel: when, why, whether it succeeded, how many reservations changed, the error.';
create index pms_sync_runs_hotel on core.pms_sync_runs (hotel_id, finished_at);

create table core.pms_breaker_events (
    id       bigint generated always as identity primary key,
    hotel_id bigint not null references core.hotels (id) on delete cascade,
    vendor   text not null,
    state    text not null,
    at       timestamptz not null,
    constraint pms_breaker_events_state check (state in ('closed', 'open', 'half_open'))
);
comment on table core.pms_breaker_events is 'State changes of the circuit breaker per vendor and property (closed, open, half_open): degraded mode lasts while it is open.';
create index pms_breaker_events_hotel on core.pms_breaker_events (hotel_id, at);

create table core.pms_cache_lookups (
    hotel_id bigint not null references core.hotels (id) on delete cascade,
    day      date not null,
    hits     bigint not null default 0,
    misses   bigint not null default 0,
    primary key (hotel_id, day),
    constraint pms_cache_lookups_not_negative check (hits >= 0 and misses >= 0)
);
comment on table core.pms_cache_lookups is 'Searches of an external hotel answered by a fresh mirror (hits) or refreshed from the vendor first (misses), per UTC day: seed 001''s cache hit rate.';

create table core.pms_checkouts (
    id                    bigint generated always as identity primary key,
    hotel_id              bigint not null references core.hotels (id) on delete restrict,
    api_key_id            bigint references core.api_keys (id) on delete set null,
    room_type_id          bigint not null,
    rate_plan_id          bigint not null,
    stay                  daterange not null,
    rooms                 integer not null,
    adults                integer not null,
    children              integer not null,
    currency              char(3) not null,
    amount                numeric(14, 2) not null,
    request               jsonb not null,
    step                  text not null default 'started',
    status                text not null default 'running',
    hold_ref              text,
    hold_expires_at       timestamptz,
    authorisation_ref     text,
    vendor_reservation_id text,
    capture_ref           text,
    error_code            text,
    created_at            timestamptz not null,
    updated_at            timestamptz not null,
    constraint pms_checkouts_room_type_fk foreign key (hotel_id, room_type_id) references core.room_types (hotel_id, id) on delete restrict,
    constraint pms_checkouts_rate_plan_fk foreign key (hotel_id, rate_plan_id) references core.rate_plans (hotel_id, id) on delete restrict,
    constraint pms_checkouts_step check (step in ('started', 'held', 'authorised', 'confirmed', 'captured', 'compensated', 'failed')),
    constraint pms_checkouts_status check (status in ('running', 'succeeded', 'failed')),
    constraint pms_checkouts_rooms_range check (rooms between 1 and 10),
    constraint pms_checkouts_amount_not_negative check (amount >= 0),
    -- seed 001's order: no confirmation at the vendor without a pre-authorisation, no capture without it
    constraint pms_checkouts_confirm_needs_authorisation check (vendor_reservation_id is null or authorisation_ref is not null),
    constraint pms_checkouts_capture_needs_booking check (capture_ref is null or vendor_reservation_id is not null),
    constraint pms_checkouts_failed_names_error check ((status = 'failed') = (error_code is not null))
);
comment on table core.pms_checkouts is
    'Checkouts of external-PMS hotels (seed 001''s saga through the connector): inventory checked on the mirror, hold at the vendor (180 s), pre-authorisation, confirmation at the vendor, capture; the last step, what each produced, and the error of a failed one after its compensation.';

create table core.pms_checkout_steps (
    id          bigint generated always as identity primary key,
    checkout_id bigint not null references core.pms_checkouts (id) on delete cascade,
    hotel_id    bigint not null references core.hotels (id) on delete cascade,
    step        text not null,
    detail      jsonb not null default '{}'::jsonb,
    at          timestamptz not null,
    constraint pms_checkout_steps_step check (step in ('started', 'held', 'authorised', 'confirmed', 'captured',
        'hold_released', 'authorisation_voided', 'cancelled_at_vendor', 'failed'))
);
comment on table core.pms_checkout_steps is 'The step log of external-PMS checkouts: each step done or compensated, with what it produced.';
create index pms_checkout_steps_checkout on core.pms_checkout_steps (checkout_id, id);

-- hotel scope: the same row-level security as every core table with a hotel_id
do $$
declare
    v_table text;
begin
    foreach v_table in array array['pms_properties', 'pms_room_types', 'pms_rate_plans', 'pms_rooms', 'pms_inventory',
                                   'pms_rates', 'pms_reservations', 'pms_webhook_events', 'pms_sync_runs',
                                   'pms_breaker_events', 'pms_cache_lookups', 'pms_checkouts', 'pms_checkout_steps']
    loop
        execute format('alter table core.%I enable row level security', v_table);
        execute format('alter table core.%I force row level security', v_table);
        execute format('create policy %I on core.%I using (coalesce(hotel_id = any((select core.hotel_scope())::bigint[]), true))',
                       v_table || '_in_hotel_scope', v_table);
    end loop;
end
$$;

-- migrate:down
drop table core.pms_checkout_steps;
drop table core.pms_checkouts;
drop table core.pms_cache_lookups;
drop table core.pms_breaker_events;
drop table core.pms_sync_runs;
drop table core.pms_webhook_events;
drop table core.pms_reservations;
drop table core.pms_rates;
drop table core.pms_inventory;
drop table core.pms_rooms;
drop table core.pms_rate_plans;
drop table core.pms_room_types;
drop table core.pms_freshness;
drop table core.pms_properties;
