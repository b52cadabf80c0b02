-- The HTTP layer's own state (seeds 000 and 001): API keys per client system and hotel scope,
-- idempotency records of checkout requests, and the checkout saga with each step persisted.
-- Versioned DDL: never edited once released; a change is a new file (see README).
--
-- Layout:
--   core.api_keys / core.api_key_hotels  one key per client system (member, pms, saas), scoped to
--                                        hotels; only the sha256 of the token is stored.
--   core.idempotency_keys                one row per (api key, Idempotency-Key): fingerprint of the
--                                        request, in_progress until the answer is stored byte for
--                                        byte; kept at least 24 h (api.purge_idempotency_keys).
--   core.checkout_sagas                  one row per checkout: the last step done and what it
--                                        produced (hold, authorisation, reservation, capture), so a
--                                        crash between steps is finished or compensated by
--                                        recovery; constraints keep "no booking without an
--                                        authorisation" and "no capture without a booking".
--   core.checkout_saga_steps             the step log, one row per step done or compensated.

-- migrate:up
create table core.api_keys (
    id         bigint generated always as identity primary key,
    system     text not null,
    label      text not null default '',
    key_prefix text not null,
    key_hash   bytea not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz,
    constraint api_keys_system_is_known check (system in ('member', 'pms', 'saas')),
    constraint api_keys_key_hash_is_sha256 check (octet_length(key_hash) = 32),
    constraint api_keys_key_hash_unique unique (key_hash)
);
comment on table core.api_keys is
    'API keys of client systems (seed 000: hotel-member, hotel-pms, hotel-saas). Only the sha256 of the token is kept; the token is shown once, by api.issue_api_key.';
comment on column core.api_keys.key_prefix is 'The first characters of the token, to tell keys apart in lists without storing the secret.';

create table core.api_key_hotels (
    api_key_id bigint not null references core.api_keys (id) on delete cascade,
    hotel_id   bigint not null references core.hotels (id) on delete cascade,
    primary key (api_key_id, hotel_id)
);
comment on table core.api_key_hotels is 'The hotels an API key may see and change (its hotel scope).';
create index api_key_hotels_hotel on core.api_key_hotels (hotel_id);

create table core.idempotency_keys (
    id              bigint generated always as identity primary key,
    api_key_id      bigint not null references core.api_keys (id) on delete cascade,
    key             text not null,
    fingerprint     bytea not null,
    status          text not null default 'in_progress',
    response_status integer,
    response_body   bytea,
    created_at      timestamptz not null,
    completed_at    timestamptz,
    constraint idempotency_keys_key_unique unique (api_key_id, key),
    constraint idempotency_keys_key_shape check (length(key) between 1 and 255),
    constraint idempotency_keys_fingerprint_is_sha256 check (octet_length(fingerprint) = 32),
    constraint idempotency_keys_status_is_known check (status in ('in_progress', 'completed')),
    constraint idempotency_keys_completed_has_response check (
        (status = 'completed') = (response_status is not null and response_body is not null and completed_at is not null))
);
comment on table core.idempotency_keys is
    'Idempotency-Key records (seed 001): the request fingerprint and, once completed, the answer replayed byte for byte. Kept at least 24 h.';
create index idempotency_keys_created on core.idempotency_keys (created_at);

create table core.checkout_sagas (
    id                 bigint generated always as identity primary key,
    hotel_id           bigint not null references core.hotels (id) on delete restrict,
    api_key_id         bigint references core.api_keys (id) on delete set null,
    idempotency_key_id bigint references core.idempotency_keys (id) on delete set null,
    room_type_id       bigint not null,
    rate_plan_id       bigint not null,
    stay               daterange not null,
    rooms              integer not null,
    adults             integer not null,
    children           integer not null,
    origin             text not null,
    special_requests   text,
    request            jsonb not null,
    currency           char(3) not null,
    amount             numeric(14, 2) not null,
    step               text not null default 'started',
    status             text not null default 'running',
    attempt            integer not null default 1,
    hold_id            bigint references core.holds (id) on delete set null,
    customer_id        bigint references core.customers (id) on delete set null,
    authorisation_ref  text,
    reservation_id     bigint references core.reservations (id) on delete restrict,
    payment_id         bigint references core.payments (id) on delete restrict,
    capture_ref        text,
    hold_released      boolean not null default false,
    authorisation_voided boolean not null default false,
    booking_cancelled  boolean not null default false,
    error_code         text,
    error_detail       text,
    created_at         timestamptz not null,
    updated_at         timestamptz not null,
    constraint checkout_sagas_rate_plan_fk foreign key (hotel_id, room_type_id, rate_plan_id)
        references core.rate_plans (hotel_id, room_type_id, id) on delete restrict,
    constraint checkout_sagas_stay_is_canonical check (not isempty(stay) and lower_inc(stay) and not upper_inc(stay)
                                                      and not lower_inf(stay) and not upper_inf(stay)),
    constraint checkout_sagas_step_is_known check (
        step in ('started', 'inventory_checked', 'held', 'authorised', 'confirmed', 'captured', 'compensated')),
    constraint checkout_sagas_status_is_known check (status in ('running', 'succeeded', 'failed')),
    constraint checkout_sagas_amount_not_negative check (amount >= 0),
    constraint checkout_sagas_attempt_positive check (attempt >= 1),
    constraint checkout_sagas_booking_needs_authorisation check (
        reservation_id is null or (authorisation_ref is not null and payment_id is not null)),
    constraint checkout_sagas_capture_needs_booking check (capture_ref is null or (reservation_id is not null and not booking_cancelled)),
    constraint checkout_sagas_succeeded_is_captured check ((status = 'succeeded') = (step = 'captured')),
    constraint checkout_sagas_failed_is_compensated check ((status = 'failed') = (step = 'compensated')),
    constraint checkout_sagas_error_when_failed check ((status = 'failed') <= (error_code is not null))
);
comment on table core.checkout_sagas is
    'Checkout sagas (seed 001): inventory check -> hold -> payment pre-authorisation -> confirm -> capture. step is the last step done; a failure compensates (hold released, authorisation voided, booking cancelled) and ends in step compensated.';
comment on column core.checkout_sagas.payment_id is 'The pre-authorisation recorded on the booking''s folio (core.payments) when the booking was confirmed.';
comment on column core.checkout_sagas.attempt is 'Raised each time recovery takes the saga over; a step recorded with an older attempt is refused.';
comment on column core.checkout_sagas.error_code is 'Set when the saga failed; while status is still running it is compensating (recovery retries what is left, e.g. a void the gateway refused).';
comment on column core.checkout_sagas.request is 'The checkout request as received, without the card token.';
create index checkout_sagas_running on core.checkout_sagas (updated_at) where status = 'running';
create index checkout_sagas_reservation on core.checkout_sagas (reservation_id) where reservation_id is not null;
create index checkout_sagas_payment on core.checkout_sagas (payment_id) where payment_id is not null;
create index checkout_sagas_hold on core.checkout_sagas (hold_id) where hold_id is not null;
create index checkout_sagas_idempotency_key on core.checkout_sagas (idempotency_key_id) where idempotency_key_id is not null;
create index checkout_sagas_hotel on core.checkout_sagas (hotel_id, created_at);
create index checkout_sagas_customer on core.checkout_sagas (customer_id) where customer_id is not null;
create index checkout_sagas_rate_plan on core.checkout_sagas (hotel_id, room_type_id, rate_plan_id);
create index checkout_sagas_api_key on core.checkout_sagas (api_key_id) where api_key_id is not null;

create table core.checkout_saga_steps (
    id      bigint generated always as identity primary key,
    saga_id bigint not null references core.checkout_sagas (id) on delete cascade,
    attempt integer not null,
    step    text not null,
    outcome text not null,
    detail  jsonb not null default '{}'::jsonb,
    at      timestamptz not null,
    constraint checkout_saga_steps_outcome_is_known check (outcome in ('done', 'failed', 'compensated'))
);
comment on table core.checkout_saga_steps is 'Step log of the checkout sagas: each step done, failed or compensated, with what it produced.';
create index checkout_saga_steps_saga on core.checkout_saga_steps (saga_id);

-- migrate:down
drop table if exists core.checkout_saga_steps;
drop table if exists core.checkout_sagas;
drop table if exists core.idempotency_keys;
drop table if exists core.api_key_hotels;
drop table if exists core.api_keys;
